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

# need_binaries WORKER DRIVER: both are executables (the ctest registration
# passes $<TARGET_FILE:...>).
need_binaries() {
  [[ -x "${1:-}" ]] || fail "worker binary '${1:-}' is not executable"
  [[ -x "${2:-}" ]] || fail "load_driver binary '${2:-}' is not executable"
}

# assert_torn_down LOGFILE: every process the sweep logged as started
# ("... (pid N) ...") is gone, and so is the temp dir it logged.
assert_torn_down() {
  local logfile="$1" dir pid
  dir="$(grep -o '/[^ ]*/knbench-local\.[A-Za-z0-9]*' "$logfile" | head -n 1 || true)"
  [[ -n "$dir" ]] || fail "the sweep log does not name its temp dir"
  [[ ! -e "$dir" ]] || fail "teardown left ${dir} behind"
  for pid in $(grep -o '(pid [0-9]*)' "$logfile" | tr -dc '0-9\n'); do
    if pid_alive "$pid"; then
      fail "process ${pid} started by the sweep is still running: $(tr '\0' ' ' <"/proc/${pid}/cmdline")"
    fi
  done
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
