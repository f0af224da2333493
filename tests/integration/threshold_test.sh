#!/usr/bin/env bash
# Integration test of k6-like thresholds on real processes:
# - load_driver --threshold 'p99<1ms' (a 5 ms spin cannot meet it): exit 99,
#   the summary (text and JSON) says FAILED with the observed p99;
# - thresholds that hold (repeated flags, both counted): exit 0;
# - a bad spec: one line, exit 2, nothing sent;
# - run_experiments.sh --stop-on-threshold: stops after run 1, says why, exits
#   0, runs.csv records the run as "threshold".
# Usage: threshold_test.sh WORKER_BIN DRIVER_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}"
worker_bin="$1"
driver_bin="$2"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-threshold-test.XXXXXX")"
worker=""
cleanup() {
  [[ -z "$worker" ]] || stop_pid "$worker" worker 10
  rm -rf "$tmp"
}
trap cleanup EXIT

gport="" mport=""
free_port gport
free_port mport
"$worker_bin" --bind 127.0.0.1 --grpc-port "$gport" --metrics-port "$mport" >"${tmp}/worker.log" 2>&1 &
worker=$!
wait_for 30 "the worker" http_ok "http://127.0.0.1:${mport}/healthz" || fail "the worker did not start"

drive() { # drive NAME ARGS...: one short run, exit status in $rc
  local name="$1"
  shift
  rc=0
  timeout 60 "$driver_bin" --target "127.0.0.1:${gport}" --rps 20 --spin-ms 5 --duration 2s \
    --bind 127.0.0.1 --metrics-port 0 --out "${tmp}/${name}.csv" --summary "${tmp}/${name}.json" "$@" \
    >"${tmp}/${name}.out" 2>"${tmp}/${name}.err" || rc=$?
}

drive violated --threshold 'p99<1ms' --threshold 'failure_rate<0.5'
((rc == 99)) || fail "a violated threshold exited ${rc}, expected 99: $(cat "${tmp}/violated.err")"
grep -Eq '^thresholds    p99<1ms FAILED \([0-9.]+ ms\)  failure_rate<0\.5 ok \(0\.0000\)$' \
  "${tmp}/violated.out" || fail "text summary: $(grep thresholds "${tmp}/violated.out")"
grep -q 'thresholds violated: p99<1ms FAILED' "${tmp}/violated.err" || fail "no log line about the violation"
"$PY" - "${tmp}/violated.json" "${tmp}/violated.csv" <<'PYEOF' || fail "summary JSON thresholds are wrong"
import csv, json, math, sys
s = json.load(open(sys.argv[1]))
t = s["thresholds"]
assert [x["spec"] for x in t] == ["p99<1ms", "failure_rate<0.5"], t
assert t[0]["ok"] is False and t[0]["unit"] == "ms" and t[0]["observed"] >= 5, t
assert t[0]["observed"] == s["intended_latency_ms"]["p99"] or \
    abs(t[0]["observed"] - s["intended_latency_ms"]["p99"]) < 1e-3, (t, s["intended_latency_ms"])
assert t[1]["ok"] is True and t[1]["observed"] == 0, t
# The run itself is complete: one row per scheduled request.
assert len(list(csv.DictReader(open(sys.argv[2])))) == s["scheduled"] == 40, s["scheduled"]
PYEOF

drive held --threshold 'p99<5s,send_p50<5s' --threshold 'failure_rate<1%' --threshold 'achieved_rps>=15'
((rc == 0)) || fail "thresholds that hold exited ${rc}: $(cat "${tmp}/held.err")"
"$PY" -c 'import json,sys; t = json.load(open(sys.argv[1]))["thresholds"]
assert [x["ok"] for x in t] == [True] * 4, t' "${tmp}/held.json" || fail "held: $(cat "${tmp}/held.json")"

drive bad --threshold 'p99<200'
((rc == 2)) || fail "a bad spec exited ${rc}, expected 2"
[[ "$(cat "${tmp}/bad.err")" == 'load_driver: --threshold "p99<200": a latency needs a unit (200ms, 1.5s, 800us) (see --help)' ]] ||
  fail "bad spec message: $(cat "${tmp}/bad.err")"
[[ ! -s "${tmp}/bad.csv" ]] || fail "a bad spec still sent requests"
stop_pid "$worker" worker 10
worker=""

# Stopping at a threshold is not an error: run_sweep requires exit 0.
WORKER_BIN="$worker_bin" DRIVER_BIN="$driver_bin" run_sweep "${tmp}/sweep.log" 240 --no-analyze --local-pods 1 \
  --rps-start 10 --rps-step 10 --rps-max 20 --spin-start 5 --spin-max 5 --duration 3s --warmup 1 \
  --threshold 'p99<1ms' --stop-on-threshold --outdir "$tmp" --sweep-id sweep
assert_torn_down "${tmp}/sweep.log"
grep -Eq '^run 1/2 rps=10 spin=5ms ok=30 failed=0 p95=[0-9.]+ms thresholds violated: p99<1ms$' "${tmp}/sweep.log" ||
  fail "no run line naming the violated threshold"
grep -q 'stopping the sweep (--stop-on-threshold): run 1/2 (10rps-5ms) violated --threshold p99<1ms' \
  "${tmp}/sweep.log" || fail "the sweep did not say why it stopped"
grep -q '^run 2/2' "${tmp}/sweep.log" && fail "run 2 started after the threshold was violated"
grep -q '^1,1,10,5,10rps-5ms,yes,[0-9.]*,threshold,' "${tmp}/sweep/runs.csv" ||
  fail "runs.csv: $(cat "${tmp}/sweep/runs.csv")"
grep -q '^stopped_at=1$' "${tmp}/sweep/sweep.conf" || fail "sweep.conf does not record stopped_at=1"
echo "PASS"
