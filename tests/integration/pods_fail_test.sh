#!/usr/bin/env bash
# Integration test: a sweep whose pods cannot start stops at once and says why.
# Issue 21's repro: every pod local_serving starts gets --bad-flag
# (WORKER_ARGS), so the worker exits at once and local_serving restarts it,
# then backs off. The sweep must notice from local_serving's /state, stop the
# run with one error line that names the cause (the pod log's last line) and
# the pod's log file (logs/pods/<pod>.log), exit non-zero well before the
# driver's 30 s call deadline would have let the run end by itself (before the
# fix: 2 min 10 s, "failed 40 of 40", exit 0), log each pod death with that
# path, and leave nothing running.
# Usage: pods_fail_test.sh WORKER_BIN DRIVER_BIN LOCAL_SERVING_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}" "${3:-}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-pods-fail.XXXXXX")"
trap '[[ -n "${KEEP_TMP:-}" ]] || rm -rf "$tmp"' EXIT

log="${tmp}/sweep.log"
rc=0
started=$SECONDS
WORKER_ARGS='--bad-flag' timeout --kill-after=20 240 "${ROOT}/scripts/run_experiments.sh" \
  --rps-start 10 --rps-max 10 --spin-start 5 --spin-max 5 --duration 4s --warmup 1 \
  --outdir "$tmp" --sweep-id sweep >"$log" 2>&1 || rc=$?
took=$((SECONDS - started))
cat "$log"
((rc == 2)) || fail "the sweep exited ${rc}, expected 2"
# Setup takes seconds; the driver's calls would wait 30 s before failing.
((took < 60)) || fail "the sweep took ${took} s to notice that its pods cannot start"

d="${tmp}/sweep"
errors="$(grep -c '^run_experiments: error: ' "$log" || true)"
((errors == 1)) || fail "expected one error line, got ${errors}"
err="$(grep '^run_experiments: error: ' "$log")"
pod_log="$(grep -o "${d}/logs/pods/[A-Za-z0-9-]*\.log" <<<"$err" | head -n 1 || true)"
[[ -n "$pod_log" ]] || fail "the error line names no pod log under ${d}/logs/pods: ${err}"
[[ -f "$pod_log" ]] || fail "the pod log ${pod_log} the error names does not exist"
grep -q 'unknown flag --bad-flag' "$pod_log" || fail "${pod_log} does not hold the worker's error"
[[ "$err" == *"unknown flag --bad-flag"* ]] || fail "the error line does not say the cause: ${err}"
[[ "$err" == *"run 1/1 (10rps-5ms)"* ]] || fail "the error line does not name the run: ${err}"
# Each death is in the sweep's log with the pod's log file.
grep -q "warning: pod [A-Za-z0-9-]* died .*${pod_log}" "$log" ||
  fail "the sweep's log does not name the dead pod's log file"
grep -q '^run 1/1 rps=10 spin=5ms ok=' "$log" && fail "the run was reported as if it had completed"
assert_torn_down "$log" "$d"
"$PY" - "${d}/runs.json" <<'PYEOF' || fail "runs.json does not record the failed run"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["sweep"]["status"] == "partial", doc["sweep"]
assert [r["status"] for r in doc["runs"]] == ["error"], doc["runs"]
PYEOF
echo "PASS"
