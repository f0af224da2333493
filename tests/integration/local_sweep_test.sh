#!/usr/bin/env bash
# Integration test: a 2x2 local sweep with short runs against the real
# worker, load_driver and Prometheus; checks every run's CSV, summary and
# Prometheus series, the plots and report.html, and that teardown left
# nothing running.
# Usage: local_sweep_test.sh WORKER_BIN DRIVER_BIN [--workers N]
#          [--grid RPS_START RPS_STEP RPS_MAX SPIN_START SPIN_STEP SPIN_MAX]
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}"
worker_bin="$1"
driver_bin="$2"
shift 2
workers=1
grid=(10 10 20 5 15 20)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers) workers="${2:?--workers needs a value}"; shift 2 ;;
    --grid) grid=("${@:2:6}"); shift 7 ;;
    *) fail "unknown argument $1" ;;
  esac
done
mapfile -t rps_list < <(seq "${grid[0]}" "${grid[1]}" "${grid[2]}")
mapfile -t spin_list < <(seq "${grid[3]}" "${grid[4]}" "${grid[5]}")

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-sweep-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

duration=4
warmup=1
rc=0
# timeout: a hung sweep fails the test (TERM runs the script's teardown).
# About 60 s on a quiet 2-core machine; the bound allows for a loaded one.
WORKER_BIN="$worker_bin" DRIVER_BIN="$driver_bin" timeout --kill-after=20 360 \
  "${ROOT}/scripts/run_experiments.sh" --mode local --workers "$workers" \
  --rps-start "${grid[0]}" --rps-step "${grid[1]}" --rps-max "${grid[2]}" \
  --spin-start "${grid[3]}" --spin-step "${grid[4]}" --spin-max "${grid[5]}" \
  --duration "${duration}s" --warmup "$warmup" --outdir "$tmp" --sweep-id sweep \
  >"${tmp}/sweep.log" 2>&1 || rc=$?
cat "${tmp}/sweep.log"
((rc == 0)) || fail "run_experiments.sh exited with ${rc}"
assert_torn_down "${tmp}/sweep.log"
"$PY" "${ROOT}/tests/integration/check_sweep.py" "${tmp}/sweep" --rps "${rps_list[@]}" \
  --spin "${spin_list[@]}" \
  --duration "$duration" --warmup "$warmup" --workers "$workers" --log "${tmp}/sweep.log"
# Run 3 (10 rps) follows run 2 (20 rps): its series must not show run 2.
"$PY" "${ROOT}/tests/integration/check_isolation.py" "${tmp}/sweep"
echo "PASS"
