# shellcheck shell=bash
# Helpers for the integration tests of scripts/run_experiments.sh.
# shellcheck disable=SC2034  # used by the tests that source this file
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034
PY=/usr/bin/python3
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# need_binaries WORKER DRIVER [LOCAL_SERVING [KPA_MODEL]]: executables (the
# ctest registration passes $<TARGET_FILE:...>). WORKER_BIN, DRIVER_BIN and,
# when given, LOCAL_SERVING_BIN and KPA_MODEL_BIN are exported for the sweep.
need_binaries() {
  [[ -x "${1:-}" ]] || fail "worker binary '${1:-}' is not executable"
  [[ -x "${2:-}" ]] || fail "load_driver binary '${2:-}' is not executable"
  export WORKER_BIN="$1" DRIVER_BIN="$2"
  if [[ $# -ge 3 ]]; then
    [[ -x "$3" ]] || fail "local_serving binary '$3' is not executable"
    export LOCAL_SERVING_BIN="$3"
  fi
  if [[ $# -ge 4 ]]; then
    [[ -x "$4" ]] || fail "kpa_model binary '$4' is not executable"
    export KPA_MODEL_BIN="$4"
  fi
}

# sweep_pids LOGFILE [SWEEP_DIR]: the PIDs of every process the sweep logged
# as started ("... (pid N) ..."), and of every pod local_serving logged
# ("pod NAME started (pid N, ...") in SWEEP_DIR/logs/local_serving.log.
sweep_pids() {
  grep -o '(pid [0-9]*)' "$1" | tr -dc '0-9\n'
  if [[ -n "${2:-}" && -f "${2}/logs/local_serving.log" ]]; then
    grep -o 'started (pid [0-9]*,' "${2}/logs/local_serving.log" | tr -dc '0-9\n'
  fi
}

# survivors LOGFILE [SWEEP_DIR] [TEXT]: the processes of sweep_pids that are
# still alive, and any process whose command line holds TEXT (a test's
# unique temp dir: the sweep's own subshells, e.g. its progress ticker), one
# "PID: command line" per line.
survivors() {
  local pid f
  for pid in $(sweep_pids "$1" "${2:-}"); do
    if pid_alive "$pid"; then echo "${pid}: $(tr '\0' ' ' <"/proc/${pid}/cmdline")"; fi
  done
  if [[ -n "${3:-}" ]]; then
    for f in /proc/[0-9]*/cmdline; do
      pid="${f#/proc/}"
      pid="${pid%/cmdline}"
      [[ "$pid" != "$$" && "$pid" != "$BASHPID" ]] || continue
      if tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "$3" && pid_alive "$pid"; then
        echo "${pid}: $(tr '\0' ' ' <"$f")"
      fi
    done
  fi
}

# assert_torn_down LOGFILE [SWEEP_DIR]: every process the sweep (and its
# local_serving) logged as started is gone, and so is the temp dir it logged.
assert_torn_down() {
  local logfile="$1" dir left
  dir="$(grep -o '/[^ ]*/knbench-local\.[A-Za-z0-9]*' "$logfile" | head -n 1 || true)"
  [[ -n "$dir" ]] || fail "the sweep log does not name its temp dir"
  [[ ! -e "$dir" ]] || fail "teardown left ${dir} behind"
  left="$(survivors "$logfile" "${2:-}")"
  [[ -z "$left" ]] || fail "processes started by the sweep are still running:"$'\n'"${left}"
}

# driver_scheduled LOGFILE N: run 1's driver (its metrics port is in the
# sweep's log) has scheduled at least N requests.
driver_scheduled() {
  local port
  port="$(grep -o 'started load_driver-1 (pid [0-9]*) .*metrics :[0-9]*' "$1" | grep -o '[0-9]*$' | head -n 1)"
  [[ -n "$port" ]] || return 1
  curl -fsS --max-time 2 "http://127.0.0.1:${port}/metrics" 2>/dev/null |
    awk -v n="$2" '/^load_driver_scheduled_total/ { if ($2 >= n) ok = 1 } END { exit !ok }'
}

# wait_mid_run LOGFILE SWEEP_PID SWEEP_DIR TIMEOUT_S: wait until run 1's
# driver has scheduled 20 requests and, with local serving (when the sweep
# writes SWEEP_DIR/logs/local_serving.log), a pod runs; fail if the sweep
# ends first or the timeout passes.
wait_mid_run() {
  local logfile="$1" pid="$2" dir="$3" deadline=$((SECONDS + $4))
  until driver_scheduled "$logfile" 20 &&
    { grep -q 'pod .* started (pid' "${dir}/logs/local_serving.log" 2>/dev/null ||
      grep -q 'started worker-1 (pid' "$logfile"; }; do
    kill -0 "$pid" 2>/dev/null || { cat "$logfile"; fail "the sweep ended before mid-run"; }
    ((SECONDS < deadline)) || { cat "$logfile"; fail "run 1 never got a pod and 20 scheduled requests"; }
    sleep 0.2
  done
}

# assert_conf_keys_once SWEEP_DIR: sweep.conf holds each key once.
assert_conf_keys_once() {
  local dup
  dup="$(cut -d= -f1 "${1}/sweep.conf" | sort | uniq -d)"
  [[ -z "$dup" ]] || fail "sweep.conf holds these keys more than once: ${dup}"
}

# run_sweep LOG TIMEOUT_S ARGS...: scripts/run_experiments.sh ARGS (with
# WORKER_BIN/DRIVER_BIN and the like from the environment), bounded by
# TIMEOUT_S; prints its output and fails the test unless it exited 0.
run_sweep() {
  local logfile="$1" limit="$2" rc=0
  shift 2
  timeout --kill-after=20 "$limit" "${ROOT}/scripts/run_experiments.sh" "$@" >"$logfile" 2>&1 || rc=$?
  cat "$logfile"
  ((rc == 0)) || fail "run_experiments.sh exited with ${rc}"
}
