#!/usr/bin/env bash
# Integration test: no run starts on its predecessor's traffic. A 2x2 local
# sweep (RPS 10, 60 x spin 5, 10 ms) runs 10 rps right after 60 rps (run 3
# after run 2); check_isolation.py then requires every rate series of every
# run to stay below its own rate plus 25 % + 1 rps, the target gauge never to
# show more than its own rate, and every rate() series to start one rate window after
# the run's first send.
# Usage: isolation_test.sh WORKER_BIN DRIVER_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-isolation-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

WORKER_BIN="$1" DRIVER_BIN="$2" run_sweep "${tmp}/sweep.log" 300 --no-analyze --local-pods 1 \
  --rps-start 10 --rps-step 50 --rps-max 60 --spin-start 5 --spin-step 5 --spin-max 10 \
  --duration 5s --warmup 1 --outdir "$tmp" --sweep-id sweep
assert_torn_down "${tmp}/sweep.log"
grep -q '^run 3/4 rps=10 spin=10ms' "${tmp}/sweep.log" || fail "run 3 is not the 10 rps run after 60 rps"
"$PY" "${ROOT}/tests/integration/check_isolation.py" "${tmp}/sweep"
echo "PASS"
