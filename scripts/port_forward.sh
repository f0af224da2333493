#!/usr/bin/env bash
# Port-forward Grafana and Prometheus of kube-prometheus-stack to localhost.
# Tracks the PIDs of the port-forwards it starts in a pid file; `stop` kills
# only those (never other kubectl port-forwards on the machine).
set -euo pipefail

PROG="$(basename "$0")"
KUBECTL="${KUBECTL:-kubectl}"
NAMESPACE="${MONITORING_NAMESPACE:-monitoring}"
RELEASE="${RELEASE:-monitoring}"
GRAFANA_PORT="${GRAFANA_PORT:-3000}"
PROM_PORT="${PROM_PORT:-9090}"
ADDRESS="${ADDRESS:-127.0.0.1}"
STATE_DIR="${KNBENCH_STATE_DIR:-${XDG_RUNTIME_DIR:-/tmp}}"
PID_FILE="${PID_FILE:-${STATE_DIR}/knbench-port-forward-$(id -u).pids}"

usage() {
  cat <<EOF
Usage: scripts/port_forward.sh [start|stop|status] [options]

start (default)  forward Grafana (svc/${RELEASE}-grafana:80 -> ${ADDRESS}:${GRAFANA_PORT}) and
                 Prometheus (svc/${RELEASE}-kube-prometheus-prometheus:9090 -> ${ADDRESS}:${PROM_PORT})
                 in the background, wait until both answer, print the URLs and
                 the commands for Grafana's credentials. PIDs go to the pid file.
stop             kill the port-forwards listed in the pid file (only those, and
                 only if they still are kubectl port-forwards), remove the file
status           show which tracked port-forwards are alive

Options / environment:
  --grafana-port N   GRAFANA_PORT (3000)     --prom-port N  PROM_PORT (9090)
  --release NAME     RELEASE (monitoring): the kube-prometheus-stack Helm release
  --namespace NS     MONITORING_NAMESPACE (monitoring)
  --address A        ADDRESS (127.0.0.1): local address to listen on
  --pid-file F       PID_FILE (${PID_FILE})
  -h, --help         this help
Remote cluster node? Tunnel from your machine:
  ssh -L ${GRAFANA_PORT}:127.0.0.1:${GRAFANA_PORT} -L ${PROM_PORT}:127.0.0.1:${PROM_PORT} USER@NODE
EOF
}

KNBENCH_LOG_NAME="$PROG"
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

ACTION=start
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    start | stop | status) ACTION="$1"; shift ;;
    --grafana-port) [[ $# -ge 2 ]] || die "--grafana-port needs a value"; GRAFANA_PORT="$2"; shift 2 ;;
    --prom-port) [[ $# -ge 2 ]] || die "--prom-port needs a value"; PROM_PORT="$2"; shift 2 ;;
    --release) [[ $# -ge 2 ]] || die "--release needs a value"; RELEASE="$2"; shift 2 ;;
    --namespace) [[ $# -ge 2 ]] || die "--namespace needs a value"; NAMESPACE="$2"; shift 2 ;;
    --address) [[ $# -ge 2 ]] || die "--address needs a value"; ADDRESS="$2"; shift 2 ;;
    --pid-file) [[ $# -ge 2 ]] || die "--pid-file needs a value"; PID_FILE="$2"; shift 2 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for p in "$GRAFANA_PORT" "$PROM_PORT"; do
  if ! [[ "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
    die "invalid port '${p}'"
  fi
done

# is_our_forward PID: the process exists and is a kubectl port-forward (so a
# PID reused by the kernel for something else is never killed).
is_our_forward() {
  local pid="$1" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/${pid}/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/${pid}/cmdline")"
  [[ "$cmd" == *port-forward* ]]
}

do_stop() {
  local pid name stopped=0
  if [[ ! -f "$PID_FILE" ]]; then
    echo "no port-forwards tracked (${PID_FILE} does not exist)"
    return 0
  fi
  while read -r pid name; do
    [[ -n "${pid:-}" ]] || continue
    if is_our_forward "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        is_our_forward "$pid" || break
        sleep 0.1
      done
      if is_our_forward "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "stopped ${name} (pid ${pid})"
      stopped=$((stopped + 1))
    else
      echo "${name} (pid ${pid}) is no longer running"
    fi
  done <"$PID_FILE"
  rm -f "$PID_FILE"
  echo "${stopped} port-forward(s) stopped"
}

do_status() {
  local pid name alive=0
  [[ -f "$PID_FILE" ]] || { echo "no port-forwards tracked"; return 1; }
  while read -r pid name; do
    if is_our_forward "$pid"; then
      echo "running: ${name} (pid ${pid})"
      alive=$((alive + 1))
    else
      echo "dead: ${name} (pid ${pid})"
    fi
  done <"$PID_FILE"
  ((alive > 0))
}

case "$ACTION" in
  stop) do_stop; exit 0 ;;
  status) do_status; exit $? ;;
esac

command -v "$KUBECTL" >/dev/null 2>&1 || die "kubectl not found (install it or set KUBECTL)"
command -v curl >/dev/null 2>&1 || die "curl not found"
"$KUBECTL" version --request-timeout=10s >/dev/null 2>&1 ||
  die "cannot reach a Kubernetes cluster (check KUBECONFIG / current context)"
if [[ -f "$PID_FILE" ]]; then
  while read -r pid _; do
    is_our_forward "$pid" && die "port-forwards already running (see '${PROG} status'); '${PROG} stop' first"
  done <"$PID_FILE"
  rm -f "$PID_FILE"
fi
GRAFANA_SVC="${RELEASE}-grafana"
PROM_SVC="${RELEASE}-kube-prometheus-prometheus"
for svc in "$GRAFANA_SVC" "$PROM_SVC"; do
  "$KUBECTL" get svc -n "$NAMESPACE" "$svc" >/dev/null 2>&1 ||
    die "service ${NAMESPACE}/${svc} not found (kube-prometheus-stack release '${RELEASE}' installed? --release)"
done

mkdir -p "$(dirname "$PID_FILE")"
LOG_DIR="$(mktemp -d "${STATE_DIR}/knbench-port-forward.XXXXXX")"
STARTED=()
# If start-up fails half-way, stop exactly what this run started.
cleanup_on_error() {
  local rc=$?
  if ((rc != 0)) && ((${#STARTED[@]})); then
    echo "${PROG}: start failed; stopping the port-forwards it started" >&2
    do_stop >/dev/null
  fi
  exit "$rc"
}
trap cleanup_on_error EXIT

start_forward() { # NAME SVC LOCAL REMOTE
  local name="$1" svc="$2" local_port="$3" remote_port="$4" pid
  # setsid: the forward outlives this script and its terminal.
  setsid "$KUBECTL" port-forward -n "$NAMESPACE" "svc/${svc}" "${local_port}:${remote_port}" \
    --address "$ADDRESS" >"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
  pid=$!
  STARTED+=("$pid")
  echo "${pid} ${name}" >>"$PID_FILE"
}

wait_http() { # NAME URL
  local name="$1" url="$2" deadline=$((SECONDS + 30))
  until curl -s -o /dev/null --max-time 2 "$url"; do
    if ((SECONDS >= deadline)); then
      tail -n 5 "${LOG_DIR}/${name}.log" >&2 || true
      die "${name} port-forward did not answer at ${url} within 30s"
    fi
    sleep 0.3
  done
}

start_forward grafana "$GRAFANA_SVC" "$GRAFANA_PORT" 80
start_forward prometheus "$PROM_SVC" "$PROM_PORT" 9090
wait_http grafana "http://${ADDRESS}:${GRAFANA_PORT}/api/health"
wait_http prometheus "http://${ADDRESS}:${PROM_PORT}/-/ready"
trap - EXIT

cat <<EOF
Grafana:    http://${ADDRESS}:${GRAFANA_PORT}   (dashboard "Knative autoscaling benchmark (knbench)")
Prometheus: http://${ADDRESS}:${PROM_PORT}
Grafana credentials:
  ${KUBECTL} get secret ${RELEASE}-grafana -n ${NAMESPACE} -o jsonpath='{.data.admin-user}' | base64 --decode; echo
  ${KUBECTL} get secret ${RELEASE}-grafana -n ${NAMESPACE} -o jsonpath='{.data.admin-password}' | base64 --decode; echo
For a sweep: PROM_URL=http://${ADDRESS}:${PROM_PORT} scripts/run_experiments.sh --mode cluster
Stop these port-forwards (only these): $0 stop    (pids in ${PID_FILE}, logs in ${LOG_DIR})
EOF
