#!/usr/bin/env bash
# Integration test: `kill -9` of a sweep in the middle of a run leaves nothing
# running. No trap runs on SIGKILL, so every child must stop by itself: each
# one the scripts start has a parent-death signal (setpriv --pdeathsig), the
# progress ticker watches the sweep, and local_serving's pods die with
# local_serving. Once run 1's driver has scheduled 20 requests (and, with
# local serving, a pod runs), the sweep gets SIGKILL; within 30 s no process
# it or local_serving logged as started, nor any process whose command line
# names the test's directory, may be left. Before the kill, every listening
# socket of those processes must be on 127.0.0.1.
# Usage: kill_test.sh WORKER_BIN DRIVER_BIN LOCAL_SERVING_BIN [--local-pods N]
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}" "${3:-}"
shift 3
extra=("$@")

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-kill-test.XXXXXX")"
log="${tmp}/sweep.log"
d="${tmp}/sweep"
sweep_pid=""
cleanup() {
  local pid
  # Only when the test failed: stop what the killed sweep left behind, by PID.
  for pid in $(survivors "$log" "$d" "$tmp" 2>/dev/null | cut -d: -f1); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -n "${KEEP_TMP:-}" ]] || rm -rf "$tmp"
}
trap cleanup EXIT

"${ROOT}/scripts/run_experiments.sh" --no-analyze "${extra[@]}" \
  --rps-start 20 --rps-max 20 --spin-start 5 --spin-max 5 \
  --duration 30s --warmup 1 --outdir "$tmp" --sweep-id sweep >"$log" 2>&1 &
sweep_pid=$!

wait_mid_run "$log" "$sweep_pid" "$d" 120
# Everything that runs now, for the message if it outlives the sweep.
before="$(survivors "$log" "$d" "$tmp")"
# Mid-run, every server the sweep started listens on loopback only.
# shellcheck disable=SC2046  # one PID per word
/usr/bin/python3 "${ROOT}/tests/integration/check_loopback_listeners.py" \
  $(cut -d: -f1 <<<"$before" | sort -u) || fail "local mode serves beyond 127.0.0.1"
kill -KILL "$sweep_pid"
wait "$sweep_pid" 2>/dev/null || true

deadline=$((SECONDS + 30))
while left="$(survivors "$log" "$d" "$tmp")" && [[ -n "$left" ]]; do
  if ((SECONDS >= deadline)); then
    cat "$log"
    fail "30 s after kill -9 of the sweep these still run:"$'\n'"${left}"$'\n'"(running before: "$'\n'"${before})"
  fi
  sleep 0.2
done
echo "before the kill:"$'\n'"${before}"
grep -qx 'status=running' "${d}/sweep.conf" || fail "a killed sweep's sweep.conf does not say running"
echo "PASS: nothing left 30 s after kill -9 of the sweep"
