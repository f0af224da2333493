#!/usr/bin/env bash
# A stand-in for kubectl used by check_scripts.sh: it answers the calls our
# cluster scripts make, records every call in $FAKE_KUBECTL_LOG, and keeps
# simulated cluster state in $FAKE_KUBECTL_STATE. Never used against a cluster.
#   FAKE_KUBECTL_CLUSTER=down   every call that needs a cluster fails
#   FAKE_KUBECTL_JOB=fail       created Jobs report a Failed condition
#   FAKE_KUBECTL_KSVC=notready  a Knative Service applied with apply -k never turns Ready
# `apply -k DIR` makes the Knative Service DIR renders the live one (ksvc.json, each
# apply a new generation) with its pods at its idle count (worker_pods: min-scale, at
# least 1 for the HPA class), as once it has settled.
set -euo pipefail
: "${FAKE_KUBECTL_LOG:?}" "${FAKE_KUBECTL_STATE:?}"
printf '%s\n' "$*" >>"$FAKE_KUBECTL_LOG"
mkdir -p "$FAKE_KUBECTL_STATE"

if [[ "${1:-}" == kustomize ]]; then
  exec kubectl "$@"  # the real one renders locally, no cluster involved
fi
if [[ "${FAKE_KUBECTL_CLUSTER:-up}" == down ]]; then
  echo "The connection to the server localhost:8080 was refused" >&2
  exit 1
fi

jobs_file="${FAKE_KUBECTL_STATE}/jobs"
touch "$jobs_file"
case "${1:-}" in
  version | config) echo "fake"; exit 0 ;;
  port-forward)
    # port-forward -n NS svc/NAME LOCAL:REMOTE --address ADDR: serve HTTP on
    # LOCAL; argv[0] keeps "port-forward" visible in /proc/PID/cmdline.
    ports=""
    addr=127.0.0.1
    while [[ $# -gt 0 ]]; do
      case "$1" in
        *:*) [[ "$1" =~ ^[0-9]+:[0-9]+$ ]] && ports="$1" ;;
        --address) addr="$2"; shift ;;
      esac
      shift
    done
    exec -a "fake-kubectl-port-forward" /usr/bin/python3 -m http.server "${ports%%:*}" --bind "$addr" >/dev/null 2>&1
    ;;
  create)
    # A real run takes its duration; a sweep's Prometheus window
    # [start, end] (whole seconds) must not be empty.
    sleep 1.1
    file="${*: -1}"
    name="$(awk '/^kind: Job/{j=1} j && /^  name:/{print $2; exit}' "$file")"
    echo "$name" >>"$jobs_file"
    cp "$file" "${FAKE_KUBECTL_STATE}/${name}.yaml"
    echo "job.batch/${name} created"
    ;;
  delete)
    # delete job -n NS NAME ...
    name="$5"
    grep -vx "$name" "$jobs_file" >"${jobs_file}.new" || true
    mv "${jobs_file}.new" "$jobs_file"
    echo "$name" >>"${FAKE_KUBECTL_STATE}/deleted"
    ;;
  apply)
    # apply -k DIR
    [[ "${2:-}" == -k && -n "${3:-}" ]] || { echo "fake kubectl: unhandled: $*" >&2; exit 1; }
    kubectl kustomize "$3" | /usr/bin/python3 -c '
import json, os, sys, yaml
state, ready = sys.argv[1], sys.argv[2] != "notready"
ksvc = next(d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") == "Service"
            and d["apiVersion"].startswith("serving.knative.dev/"))
path = os.path.join(state, "ksvc.json")
gen = json.load(open(path))["metadata"]["generation"] + 1 if os.path.exists(path) else 1
ksvc["metadata"]["generation"] = gen
ksvc["status"] = {"observedGeneration": gen, "conditions": [
    {"type": "Ready", "status": "True" if ready else "Unknown"}]}
json.dump(ksvc, open(path, "w"))
ann = ksvc["spec"]["template"]["metadata"].get("annotations") or {}
idle = int(ann.get("autoscaling.knative.dev/min-scale", 0))
if "hpa" in ann.get("autoscaling.knative.dev/class", ""):
    idle = max(idle, 1)
open(os.path.join(state, "worker_pods"), "w").write(str(idle))
' "$FAKE_KUBECTL_STATE" "${FAKE_KUBECTL_KSVC:-ready}"
    echo "service.serving.knative.dev/worker configured"
    ;;
  wait) exit 0 ;;
  logs) echo "fake driver log" ;;
  get)
    args="$*"
    case "$args" in
      *--raw*/proxy/results.csv*)
        echo "timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,intended_latency_us,lag_us,grpc_code,pod,server_spin_us,phase,warmup"
        echo "1700000000000,10,100,1,101,success,101000,101200,200,OK,worker-1,100000,0,0"
        ;;
      *--raw*/proxy/summary.json*) echo '{"scheduled": 1, "sent": 1, "success": 1, "failure": 0, "dropped": 0}' ;;
      *"get ksvc"*"-o json"*)
        if [[ -f "${FAKE_KUBECTL_STATE}/ksvc.json" ]]; then cat "${FAKE_KUBECTL_STATE}/ksvc.json"; else echo "found"; fi
        ;;
      *"get pods"*"serving.knative.dev/service="*)
        [[ -f "${FAKE_KUBECTL_STATE}/worker_pods" ]] || { echo "fake kubectl: unhandled: $args" >&2; exit 1; }
        for ((i = 1; i <= $(cat "${FAKE_KUBECTL_STATE}/worker_pods"); i++)); do echo "pod/worker-deployment-${i}"; done
        ;;
      *"crd "* | *"ksvc "* | *"svc "* | *"configmap "*) echo "found" ;;
      *"get job"*Failed*)
        [[ "${FAKE_KUBECTL_JOB:-ok}" == fail ]] && echo True
        ;;
      *"get pods"*Ready*)
        job="${args##*job-name=}"
        job="${job%% *}"
        grep -qx "$job" "$jobs_file" && echo True
        ;;
      *"get pods"*metadata.name*)
        job="${args##*job-name=}"
        job="${job%% *}"
        grep -qx "$job" "$jobs_file" && echo "${job}-abcde"
        ;;
      *) echo "fake kubectl: unhandled: $args" >&2; exit 1 ;;
    esac
    ;;
  *) echo "fake kubectl: unhandled: $*" >&2; exit 1 ;;
esac
