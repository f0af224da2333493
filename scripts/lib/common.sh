# shellcheck shell=bash
# Shared helpers for the experiment scripts: logging, validation, free ports,
# bounded waits, duration parsing. Source it; it defines functions only (and
# the PY interpreter choice), it starts nothing.

# Debian's interpreter has pandas/matplotlib; the python3 first on PATH may not.
PY="${KNBENCH_PYTHON:-/usr/bin/python3}"

KNBENCH_LOG_NAME="${KNBENCH_LOG_NAME:-knbench}"

log() { printf '[%s %s] %s\n' "$KNBENCH_LOG_NAME" "$(date -u +%H:%M:%S)" "$*" >&2; }
warn() { log "warning: $*"; }
die() {
  printf '%s: error: %s\n' "$KNBENCH_LOG_NAME" "$*" >&2
  exit 2
}

is_uint() { [[ "${1-}" =~ ^[0-9]+$ ]]; }
is_posint() { [[ "${1-}" =~ ^[0-9]+$ ]] && ((10#$1 > 0)); }
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
# A non-negative decimal such as 0.1, 1, .5
is_number() { [[ "${1-}" =~ ^([0-9]+(\.[0-9]*)?|\.[0-9]+)$ ]]; }

# duration_seconds "12m" -> 720. Accepts Go-style h/m/s components with whole
# numbers (1h, 12m, 90s, 1m30s) or a bare number of seconds. Prints nothing
# and fails on anything else (fractions and ms are not used by the sweep).
duration_seconds() {
  local text="${1-}" total=0 num unit
  # At most 9 digits per number: bash arithmetic would wrap on huge ones.
  if [[ "$text" =~ ^[0-9]{1,9}$ ]]; then
    echo $((10#$text))
    return 0
  fi
  [[ "$text" =~ ^([0-9]+[hms])+$ ]] || return 1
  while [[ -n "$text" ]]; do
    [[ "$text" =~ ^([0-9]{1,9})([hms])(.*)$ ]] || return 1
    num=$((10#${BASH_REMATCH[1]}))
    unit="${BASH_REMATCH[2]}"
    text="${BASH_REMATCH[3]}"
    case "$unit" in
      h) total=$((total + num * 3600)) ;;
      m) total=$((total + num * 60)) ;;
      s) total=$((total + num)) ;;
    esac
  done
  echo "$total"
}

# spawn CMD [ARGS...]: exec CMD in a session of its own (a terminal's Ctrl-C
# reaches only the caller, which stops its children itself) with a
# parent-death signal (util-linux setpriv), so the child gets SIGTERM if the
# calling shell dies, even by SIGKILL. Call it in the background from the
# shell that owns the child — `spawn cmd ... &` — never inside $(...) or a
# pipeline, whose subshell would be the "parent" and exit at once. setsid
# does not fork here (a background job of a script is no group leader), so
# $! is the child's own PID.
spawn() { exec setsid setpriv --pdeathsig TERM "$@"; }

# Ports handed out by free_port in this shell, so two calls never collide.
KNBENCH_PORTS_TAKEN=()

# free_port VAR: set VAR to a TCP port that is free on 127.0.0.1 right now,
# verified by binding it (a variable, not stdout: a $(...) subshell would
# lose the record of ports already handed out). Ports come from below the
# kernel's ephemeral range so outgoing connections (scrapes, gRPC) cannot
# occupy them between our own uses.
free_port() {
  local _fp_lo _fp_hi _fp_port _fp_taken
  read -r _fp_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || _fp_lo=32768
  _fp_hi=$((_fp_lo > 20000 ? _fp_lo : 32768))
  _fp_lo=$((_fp_hi - 12000))
  for _ in $(seq 1 50); do
    _fp_port=$((_fp_lo + RANDOM % (_fp_hi - _fp_lo)))
    for _fp_taken in "${KNBENCH_PORTS_TAKEN[@]}"; do
      [[ "$_fp_taken" == "$_fp_port" ]] && continue 2
    done
    # Binding the wildcard address fails if any address holds the port, so
    # the port is free for servers that bind 0.0.0.0 or 127.0.0.1.
    if "$PY" - "$_fp_port" <<'EOF' 2>/dev/null; then
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.close()
EOF
      KNBENCH_PORTS_TAKEN+=("$_fp_port")
      printf -v "$1" '%s' "$_fp_port"
      return 0
    fi
  done
  echo "free_port: no free port found after 50 tries" >&2
  return 1
}

# port_listening PORT: something accepts TCP connections on 127.0.0.1:PORT
# (bash's /dev/tcp; no iproute2 needed).
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

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

# prom_instant PROM_URL QUERY: print the JSON of an instant query (fails on
# transport or HTTP errors).
prom_instant() {
  curl -fsS --max-time 5 -G "$1/api/v1/query" --data-urlencode "query=$2"
}

# prom_scraped_final LABEL=VALUE SCHEDULED END_EPOCH: Prometheus (at
# PROM_URL) holds a sample of that driver's load_driver_scheduled_total equal
# to its final count SCHEDULED, taken after END_EPOCH, so a query over the
# run's window sees its last seconds.
prom_scraped_final() {
  local label="${1%%=*}" value="${1#*=}" body
  body="$(prom_instant "$PROM_URL" \
    "timestamp(load_driver_scheduled_total{job=\"load_driver\",${label}=\"${value}\"} == $2)")" || return 1
  "$PY" -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
sys.exit(0 if r and float(r[0]["value"][1]) >= float(sys.argv[1]) else 1)' "$3" <<<"$body"
}
