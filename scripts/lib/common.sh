# shellcheck shell=bash
# Shell helpers of the kit's scripts (scripts/, bench/run.sh, fuzz/run.sh) and
# the test scripts (tests/integration, tests/scripts): one-line errors,
# logging, bounded numbers, bounded waits, process checks. Source it after
# setting KNBENCH_LOG_NAME to the script's name; it defines functions only
# (and the PY interpreter choice), it starts nothing. The sweep itself is
# Python (tools/knbench_sweep); where a helper does what the package does
# (durations, free ports), it asks the package.

# Debian's interpreter has pandas/matplotlib; the python3 first on PATH may not.
PY="${KNBENCH_PYTHON:-/usr/bin/python3}"
_KNBENCH_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools" && pwd)"

KNBENCH_LOG_NAME="${KNBENCH_LOG_NAME:-knbench}"

log() { printf '[%s %s] %s\n' "$KNBENCH_LOG_NAME" "$(date -u +%H:%M:%S)" "$*" >&2; }
# die MESSAGE: one error line, exit 1 (the work failed).
die() {
  printf '%s: error: %s\n' "$KNBENCH_LOG_NAME" "$*" >&2
  exit 1
}
# usage_error MESSAGE: one error line, exit 2 (the command line is wrong).
usage_error() {
  printf '%s: error: %s\n' "$KNBENCH_LOG_NAME" "$*" >&2
  exit 2
}
# need_value "$@" in an option loop: the option in $1 has a non-empty value in
# $2, or it is a usage error.
need_value() { [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value (see --help)"; }

# uint_at_most VALUE MAX: VALUE is a whole number 0..MAX. The length check comes
# first: bash arithmetic wraps silently above 2^63, so 99999999999999999999
# would otherwise pass any comparison.
uint_at_most() {
  local v="${1-}"
  [[ "$v" =~ ^[0-9]+$ ]] || return 1
  v="${v#"${v%%[!0]*}"}" # strip leading zeros ("" for 0)
  ((${#v} <= 18)) && ((10#${v:-0} <= $2))
}
posint_at_most() { uint_at_most "${1-}" "$2" && ((10#$1 > 0)); }

# duration_seconds "12m" -> 720: whole seconds, a bare number or a Go duration
# (1h, 12m, 90s, 1m30s); prints nothing and fails on anything else. The one
# parser is knbench_sweep.durations.
duration_seconds() {
  PYTHONPATH="$_KNBENCH_TOOLS" PYTHONDONTWRITEBYTECODE=1 "$PY" -m knbench_sweep.durations \
    --whole-seconds "${1-}"
}

# Ports handed out by free_port in this shell, so two calls never collide.
KNBENCH_PORTS_TAKEN=()

# free_port VAR: set VAR to a TCP port that is free on this machine right now
# (knbench_sweep.net: below the kernel's ephemeral range, checked by binding
# it), never one this shell was given before (a variable, not stdout: a $(...)
# subshell would lose the record of ports already handed out).
free_port() {
  local _fp_port
  _fp_port="$(PYTHONPATH="$_KNBENCH_TOOLS" PYTHONDONTWRITEBYTECODE=1 "$PY" -m knbench_sweep.net \
    free-port "${KNBENCH_PORTS_TAKEN[@]}")" || return 1
  KNBENCH_PORTS_TAKEN+=("$_fp_port")
  printf -v "$1" '%s' "$_fp_port"
}

# http_ok URL: the URL answers 2xx within 2 s.
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# wait_for TIMEOUT_SECONDS DESCRIPTION CMD [ARGS...]: run CMD every 0.2 s until
# it succeeds or the timeout passes (then log and return 1).
wait_for() {
  local timeout="$1" desc="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for ${desc}"
      return 1
    fi
    sleep 0.2
  done
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the state letter follows "(comm) "
  [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

# stop_pid PID NAME GRACE_SECONDS: SIGTERM, wait up to GRACE for exit, then
# SIGKILL. Only ever called with PIDs this shell started.
stop_pid() {
  local pid="$1" name="$2" grace="${3:-10}" deadline
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "${name} (pid ${pid}) ignored SIGTERM for ${grace}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
}
