#!/usr/bin/env bash
# Integration test: Ctrl-C in the middle of a run, with local serving. The
# sweep runs in its own process group and gets SIGINT on the whole group, as a
# terminal sends it, once the driver has scheduled at least 20 requests and
# local_serving runs a pod. The
# sweep must exit 130, stop every process it started (local_serving's pods
# too), keep the interrupted run's CSV and summary (one row per request
# scheduled before the stop), and mark sweep.conf partial, each key once.
# Usage: interrupt_test.sh WORKER_BIN DRIVER_BIN LOCAL_SERVING_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}" "${3:-}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-int-test.XXXXXX")"
sweep_pid=""
cleanup() {
  # Only if the test itself failed before the sweep ended.
  if [[ -n "$sweep_pid" ]] && kill -0 "$sweep_pid" 2>/dev/null; then
    kill -TERM "$sweep_pid" 2>/dev/null || true
    wait "$sweep_pid" 2>/dev/null || true
  fi
  [[ -n "${KEEP_TMP:-}" ]] || rm -rf "$tmp"
}
trap cleanup EXIT

log="${tmp}/sweep.log"
set -m # the sweep becomes a process-group leader, like a terminal's foreground job
"${ROOT}/scripts/run_experiments.sh" --no-analyze \
  --rps-start 20 --rps-max 20 --spin-start 5 --spin-step 5 --spin-max 10 \
  --duration 20s --warmup 1 --outdir "$tmp" --sweep-id sweep >"$log" 2>&1 &
sweep_pid=$!
set +m

wait_mid_run "$log" "$sweep_pid" "${tmp}/sweep" 180

kill -INT -- "-${sweep_pid}"
rc=0
deadline=$((SECONDS + 90))
while kill -0 "$sweep_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the sweep did not exit within 90 s of SIGINT"
  sleep 0.2
done
wait "$sweep_pid" || rc=$?
sweep_pid=""
cat "$log"
((rc == 130)) || fail "the interrupted sweep exited ${rc}, expected 130"
grep -q "interrupted; stopping what this sweep started" "$log" || fail "no interruption message"
d="${tmp}/sweep"
assert_torn_down "$log" "$d"
grep -q 'pod .* started (pid' "${d}/logs/local_serving.log" || fail "local_serving started no pod"
grep -q '^run 2/2' "$log" && fail "run 2 started after the interrupt"
assert_conf_keys_once "$d"
grep -qx 'status=partial' "${d}/sweep.conf" || fail "sweep.conf does not say partial: $(cat "${d}/sweep.conf")"
grep -qx 'partial_because=interrupted (SIGINT) after 1 of 2 runs started' "${d}/sweep.conf" ||
  fail "sweep.conf does not say why it is partial"
grep -q '^finished_utc=' "${d}/sweep.conf" && fail "an interrupted sweep.conf says finished"
grep -q '^prom_url=http://127.0.0.1:' "${d}/sweep.conf" || fail "sweep.conf lost prom_url"
[[ -s "${d}/results-20rps-5ms.csv" && -s "${d}/summary-20rps-5ms.json" ]] ||
  fail "the interrupted run's CSV or summary is missing"
"$PY" - "${d}/results-20rps-5ms.csv" "${d}/summary-20rps-5ms.json" <<'PYEOF' || fail "the interrupted run's files disagree"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
s = json.load(open(sys.argv[2]))
assert len(rows) == s["scheduled"], (len(rows), s["scheduled"])
assert 20 <= s["scheduled"] < 20 * 20, s["scheduled"]
assert sorted(int(r["seq"]) for r in rows) == list(range(1, len(rows) + 1))
print("interrupted run kept %d rows (%d success)" % (len(rows), s["success"]))
PYEOF
echo "PASS"
