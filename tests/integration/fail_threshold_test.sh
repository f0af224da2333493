#!/usr/bin/env bash
# Integration test: the sweep stops after the first run whose failure ratio
# passes FAIL_THRESHOLD. The worker is started with --max-duration-ms 50
# (WORKER_ARGS), so every call asking to spin 100 ms is rejected with
# INVALID_ARGUMENT: run 1 fails completely and runs 2..4 never start.
# Usage: fail_threshold_test.sh WORKER_BIN DRIVER_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-fail-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

rc=0
WORKER_BIN="$1" DRIVER_BIN="$2" WORKER_ARGS="--max-duration-ms 50" FAIL_THRESHOLD=0.10 \
  timeout --kill-after=20 240 "${ROOT}/scripts/run_experiments.sh" --no-analyze --local-pods 1 \
  --rps-start 10 --rps-step 10 --rps-max 20 --spin-start 100 --spin-step 100 --spin-max 200 \
  --duration 3s --warmup 1 --outdir "$tmp" --sweep-id sweep >"${tmp}/sweep.log" 2>&1 || rc=$?
cat "${tmp}/sweep.log"
((rc == 0)) || fail "run_experiments.sh exited with ${rc}; stopping at the threshold is not an error"
assert_torn_down "${tmp}/sweep.log"

d="${tmp}/sweep"
grep -Eq '^run 1/4 rps=10 spin=100ms ok=0 failed=30 p95=n/a$' "${tmp}/sweep.log" ||
  fail "no progress line 'run 1/4 rps=10 spin=100ms ok=0 failed=30 ...'"
grep -q 'stopping the sweep: run 1/4 (10rps-100ms) failed 30 of 30 requests (ratio 1.0000 > FAIL_THRESHOLD 0.10)' \
  "${tmp}/sweep.log" || fail "the sweep did not say why it stopped"
grep -q '^run 2/4' "${tmp}/sweep.log" && fail "run 2 started after the threshold was passed"
[[ -f "${d}/results-10rps-100ms.csv" && -f "${d}/summary-10rps-100ms.json" ]] ||
  fail "run 1's files are missing"
[[ -f "${d}/prometheus-10rps-100ms.json" ]] || fail "run 1's Prometheus series are missing"
others="$(find "$d" -maxdepth 1 -name 'results-*.csv' ! -name 'results-10rps-100ms.csv')"
[[ -z "$others" ]] || fail "results of runs after the stop exist: ${others}"
# Every row is a failure answered INVALID_ARGUMENT by the worker.
"$PY" - "${d}/results-10rps-100ms.csv" "${d}/summary-10rps-100ms.json" <<'PYEOF' || fail "run 1's data is not all INVALID_ARGUMENT failures"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
s = json.load(open(sys.argv[2]))
assert len(rows) == 30 == s["scheduled"], (len(rows), s["scheduled"])
assert {r["status"] for r in rows} == {"failure"}, {r["status"] for r in rows}
assert {r["grpc_code"] for r in rows} == {"INVALID_ARGUMENT"}, {r["grpc_code"] for r in rows}
assert s["errors"] == {"INVALID_ARGUMENT": 30}, s["errors"]
PYEOF
grep -q '^stopped_at=1$' "${d}/sweep.conf" || fail "sweep.conf does not record stopped_at=1"
echo "PASS"
