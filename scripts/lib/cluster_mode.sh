# shellcheck shell=bash
# Cluster backend for run_experiments.sh --mode cluster: one driver Job per
# (rps, spin) run on a Knative cluster, results fetched through the API
# server's pod proxy while the driver lingers (no exec, no shell in the image).
#
# Interface (see run_experiments.sh): backend_setup, backend_wait_idle,
# backend_run, backend_progress, backend_describe, backend_teardown,
# BACKEND_COLLECT_MODE.
# Sourcing this file starts nothing.
#
# Settings (environment):
#   KUBECTL                 kubectl command (default kubectl)
#   CLUSTER_NAMESPACE       namespace of the worker and driver Jobs (default
#                           default; the manifests and monitors assume default)
#   CLUSTER_SERVICE         Knative Service of the worker (default worker)
#   CLUSTER_DRIVER_PODS     driver pods per run (default 1). Above 1 a run is an
#                           Indexed Job (deploy/sweep-parallel), each pod at
#                           rps/N; their CSVs and summaries are merged.
#   CLUSTER_LINGER          how long a finished driver serves its results at
#                           most (default 30m; it exits once both files were
#                           fetched, and the Job is deleted right after)
#   CLUSTER_START_TIMEOUT   seconds allowed beyond the run's duration for pod
#                           scheduling, image pull and draining (default 600)
#   CLUSTER_IDLE_TIMEOUT    seconds backend_wait_idle waits at most for the
#                           worker's pods to be back at min-scale (default 900)
#   CLUSTER_IDLE_POLL       seconds between two pod counts (default 5)
#   PROM_URL                Prometheus base URL; if empty, backend_setup
#                           port-forwards the kube-prometheus-stack Prometheus
#                           (PROM_NAMESPACE, default monitoring; PROM_SERVICE,
#                           default: found by label, else
#                           monitoring-kube-prometheus-prometheus)

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# shellcheck disable=SC2034  # read by the caller
BACKEND_COLLECT_MODE=cluster

_CLUSTER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_CLUSTER_TMP=""
_CLUSTER_JOBS=()      # Jobs this backend created and has not deleted yet
_CLUSTER_PF_PID=""    # the Prometheus port-forward backend_setup started
_CLUSTER_PROM_PORT=""
_CLUSTER_LAST_END=""  # when the previous run's driver finished (epoch s)
# The worker's autoscaling annotations (backend_setup reads them from the
# live Knative Service): the idle pod count and the KPA's stable window.
_CLUSTER_IDLE_PODS=0
_CLUSTER_STABLE_WINDOW_S=60

_kc() { ${KUBECTL:-kubectl} "$@"; }
_cluster_ns() { echo "${CLUSTER_NAMESPACE:-default}"; }

# cluster_fill_placeholders KEY=VALUE... < TEMPLATE > RENDERED
# Replaces {{KEY}} with VALUE. A whole quoted value ("{{KEY}}" or '{{KEY}}')
# becomes a bare YAML integer when VALUE is an integer, so integer fields
# (e.g. completions) can hold placeholders in a file that is valid YAML.
# Values are restricted to [A-Za-z0-9._-] (names, numbers, durations).
cluster_fill_placeholders() {
  local -a expr=()
  local kv key value
  for kv in "$@"; do
    key="${kv%%=*}"
    value="${kv#*=}"
    [[ "$kv" == *=* && "$key" =~ ^[A-Z_]+$ ]] || {
      echo "cluster_fill_placeholders: bad argument '${kv}' (want KEY=VALUE)" >&2
      return 2
    }
    [[ "$value" =~ ^[A-Za-z0-9._-]+$ ]] || {
      echo "cluster_fill_placeholders: value of ${key} must match [A-Za-z0-9._-]+, got '${value}'" >&2
      return 2
    }
    if [[ "$value" =~ ^[0-9]+$ ]]; then
      expr+=(-e "s/\"{{${key}}}\"/${value}/g" -e "s/'{{${key}}}'/${value}/g")
    fi
    expr+=(-e "s/{{${key}}}/${value}/g")
  done
  sed "${expr[@]}"
}

# cluster_render KUSTOMIZE_DIR OUT_FILE KEY=VALUE...: kustomize (image names
# and tags from deploy/components/images), fill the placeholders, and refuse
# to leave any {{...}} behind.
cluster_render() {
  local dir="$1" out="$2" rendered
  shift 2
  rendered="$(_kc kustomize "$dir")" || {
    echo "cluster_render: kubectl kustomize ${dir} failed" >&2
    return 1
  }
  cluster_fill_placeholders "$@" <<<"$rendered" >"$out" || return 1
  if grep -n '{{[A-Z_]*}}' "$out" >&2; then
    echo "cluster_render: placeholders left unfilled in ${out} (above)" >&2
    return 1
  fi
}

_cluster_need_cluster() {
  command -v "${KUBECTL:-kubectl}" >/dev/null 2>&1 ||
    die "kubectl not found (set KUBECTL or install kubectl); cluster mode needs a Kubernetes cluster with Knative Serving"
  _kc version --request-timeout=10s >/dev/null 2>&1 ||
    die "cannot reach a Kubernetes cluster with '${KUBECTL:-kubectl}' (check KUBECONFIG / the current context: $(_kc config current-context 2>&1 | head -n 1))"
}

_cluster_start_prom_forward() {
  local pns="${PROM_NAMESPACE:-monitoring}" svc="${PROM_SERVICE:-}" log
  if [[ -z "$svc" ]]; then
    svc="$(_kc get svc -n "$pns" -l app=kube-prometheus-stack-prometheus \
      -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true)"
    svc="${svc:-monitoring-kube-prometheus-prometheus}"
  fi
  _kc get svc -n "$pns" "$svc" >/dev/null 2>&1 ||
    die "Prometheus service ${pns}/${svc} not found; install kube-prometheus-stack (docs/deploy.md) or set PROM_URL / PROM_SERVICE"
  free_port _CLUSTER_PROM_PORT || return 1
  log="${_CLUSTER_TMP}/port-forward-prometheus.log"
  # A parent-death signal: the port-forward ends with the sweep, even on SIGKILL.
  # shellcheck disable=SC2086  # KUBECTL may hold arguments, as in _kc
  setpriv --pdeathsig TERM ${KUBECTL:-kubectl} port-forward -n "$pns" "svc/${svc}" \
    "${_CLUSTER_PROM_PORT}:9090" --address 127.0.0.1 >"$log" 2>&1 &
  _CLUSTER_PF_PID=$!
  PROM_URL="http://127.0.0.1:${_CLUSTER_PROM_PORT}"
  if ! wait_for 30 "port-forward to ${pns}/${svc}" http_ok "${PROM_URL}/-/ready"; then
    tail -n 5 "$log" >&2 || true
    return 1
  fi
  log "Prometheus ${pns}/${svc} forwarded to ${PROM_URL} (pid ${_CLUSTER_PF_PID})"
}

# _cluster_autoscaling: reads the live Knative Service's template annotations
# (JSON on stdin) and prints "IDLE_PODS STABLE_WINDOW_S". Idle is min-scale
# (legacy minScale), at least 1 for the HPA class, which cannot scale to
# zero; the stable window is autoscaling.knative.dev/window (default 60s).
_cluster_autoscaling() {
  "$PY" -c '
import json, re, sys
try:
    a = json.load(sys.stdin) or {}
except ValueError:
    a = {}
p = "autoscaling.knative.dev/"
def get(*keys):
    return next((str(a[p + k]) for k in keys if p + k in a), None)
idle = int(float(get("min-scale", "minScale") or 0))
if "hpa" in (get("class") or ""):
    idle = max(idle, 1)
w = get("window") or "60s"
m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", w)
window = (int(m.group(1) or 0) * 3600 + int(m.group(2) or 0) * 60
          + float(m.group(3) or 0)) if m and w else 60
print(idle, int(window))'
}

# _cluster_worker_pods: how many pods the worker's revisions have, any phase
# (terminating ones included: they still hold the previous run's calls).
_cluster_worker_pods() {
  local out
  out="$(_kc get pods -n "$(_cluster_ns)" -l "serving.knative.dev/service=${CLUSTER_SERVICE:-worker}" \
    -o name 2>&1)" || {
    echo "$out" | head -n 1 >&2
    return 1
  }
  grep -c '^pod/' <<<"$out" || true
}

# backend_wait_idle GAP_S: the worker's pods are back at the idle count and
# max(GAP_S, the KPA's stable window) has passed since the previous run
# ended, so neither a collected rate window nor the autoscaler's own stable
# window of the next run holds the previous run's traffic.
backend_wait_idle() {
  local gap="$1" timeout="${CLUSTER_IDLE_TIMEOUT:-900}" deadline n rest
  [[ -n "$_CLUSTER_TMP" ]] || die "backend_wait_idle called before backend_setup"
  deadline=$((SECONDS + timeout))
  while :; do
    if ! n="$(_cluster_worker_pods)"; then
      warn "cannot list the worker's pods; the idle state is not checked"
      return 1
    fi
    ((n <= _CLUSTER_IDLE_PODS)) && break
    if ((SECONDS >= deadline)); then
      warn "the worker still has ${n} pod(s) after ${timeout}s (idle: ${_CLUSTER_IDLE_PODS})"
      return 1
    fi
    sleep "${CLUSTER_IDLE_POLL:-5}"
  done
  if [[ -n "$_CLUSTER_LAST_END" ]]; then
    ((gap >= _CLUSTER_STABLE_WINDOW_S)) || gap="$_CLUSTER_STABLE_WINDOW_S"
    rest="$(awk -v e="$_CLUSTER_LAST_END" -v g="$gap" -v now="$(date +%s.%N)" \
      'BEGIN { r = e + g - now; printf "%.3f\n", (r > 0 ? r : 0) }')"
    sleep "$rest"
  fi
}

backend_setup() {
  local ns pods
  ns="$(_cluster_ns)"
  pods="${CLUSTER_DRIVER_PODS:-1}"
  is_posint "$pods" || die "CLUSTER_DRIVER_PODS must be a positive integer, got '${pods}'"
  if ((pods > 1)); then
    log "CLUSTER_DRIVER_PODS=${pods}: each run is ${pods} driver pods at rps/${pods}, with Poisson arrivals (seed = pod index) so their schedules do not fire in lockstep"
  fi
  command -v curl >/dev/null || die "curl not found on PATH"
  _cluster_need_cluster
  _kc get crd services.serving.knative.dev >/dev/null 2>&1 ||
    die "Knative Serving is not installed (CRD services.serving.knative.dev missing)"
  _kc get ksvc -n "$ns" "${CLUSTER_SERVICE:-worker}" >/dev/null 2>&1 ||
    die "Knative Service ${ns}/${CLUSTER_SERVICE:-worker} not found; run scripts/deploy_all.sh first"
  _CLUSTER_TMP="$(mktemp -d "${TMPDIR:-/tmp}/knbench-cluster.XXXXXX")"
  _kc get ksvc -n "$ns" "${CLUSTER_SERVICE:-worker}" -o jsonpath='{.spec.template.metadata.annotations}' \
    >"${_CLUSTER_TMP}/annotations.json" 2>/dev/null || true
  read -r _CLUSTER_IDLE_PODS _CLUSTER_STABLE_WINDOW_S < <(_cluster_autoscaling <"${_CLUSTER_TMP}/annotations.json")
  # Render once up front so a broken template fails before the first run.
  if ((pods > 1)); then
    cluster_render "${_CLUSTER_ROOT}/deploy/sweep-parallel" "${_CLUSTER_TMP}/check.yaml" NAME=check \
      PODS="$pods" RPS_PER_POD=1 SPIN=1 DURATION=1s WARMUP=0s LINGER=1s || die "cannot render deploy/sweep-parallel"
  else
    cluster_render "${_CLUSTER_ROOT}/deploy/sweep" "${_CLUSTER_TMP}/check.yaml" NAME=check \
      RPS=1 SPIN=1 DURATION=1s WARMUP=0s LINGER=1s || die "cannot render deploy/sweep"
  fi
  if [[ -z "${PROM_URL:-}" ]]; then
    _cluster_start_prom_forward || die "cannot reach Prometheus; set PROM_URL"
  else
    http_ok "${PROM_URL}/-/ready" || die "Prometheus at PROM_URL=${PROM_URL} is not ready"
  fi
  log "cluster backend ready: ${ns}/${CLUSTER_SERVICE:-worker}, ${pods} driver pod(s) per run, Prometheus ${PROM_URL}"
}

# _cluster_pods JOB -> pod names of the Job, one per line
_cluster_pods() {
  _kc get pods -n "$(_cluster_ns)" -l "job-name=$1" \
    -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}

# _cluster_job_failed JOB: the Job has a Failed condition.
_cluster_job_failed() {
  [[ "$(_kc get job -n "$(_cluster_ns)" "$1" \
    -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null)" == True ]]
}

# _cluster_wait_results JOB PODS TIMEOUT: wait until PODS pods of JOB are
# Ready — the driver's readiness probe passes once /done answers 200,
# i.e. the run is over and its results can be fetched. Fails early if the Job
# failed (the driver exited before lingering).
_cluster_wait_results() {
  local job="$1" want="$2" timeout="$3" deadline ready
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if _cluster_job_failed "$job"; then
      log "Job ${job} failed; last driver log lines:"
      _kc logs -n "$(_cluster_ns)" "job/${job}" --tail=20 >&2 || true
      return 1
    fi
    ready="$(_kc get pods -n "$(_cluster_ns)" -l "job-name=${job}" \
      -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
      grep -c '^True$' || true)"
    if ((ready >= want)); then
      return 0
    fi
    # Block on the pods' readiness for a while, bounded; no pods yet is fine.
    _kc wait --for=condition=Ready pod -n "$(_cluster_ns)" -l "job-name=${job}" \
      --timeout=15s >/dev/null 2>&1 || sleep 2
  done
  log "timed out after ${timeout}s waiting for ${job} to finish its run"
  _kc get pods -n "$(_cluster_ns)" -l "job-name=${job}" >&2 || true
  return 1
}

# _cluster_fetch POD FILE OUT: GET the driver's /FILE through the API server's
# pod proxy (port 2113) into OUT, atomically.
_cluster_fetch() {
  local pod="$1" file="$2" out="$3"
  if _kc get --raw "/api/v1/namespaces/$(_cluster_ns)/pods/${pod}:2113/proxy/${file}" >"${out}.part" &&
    [[ -s "${out}.part" ]]; then
    mv -f "${out}.part" "$out"
    return 0
  fi
  rm -f "${out}.part"
  log "cannot fetch ${file} from pod ${pod}"
  return 1
}


_cluster_delete_job() {
  _kc delete job -n "$(_cluster_ns)" "$1" --ignore-not-found --cascade=foreground \
    --wait=true --timeout=120s >/dev/null || log "could not delete Job $1 (delete it by hand)"
}

_cluster_forget_job() {
  local -a keep=()
  local j
  for j in "${_CLUSTER_JOBS[@]}"; do
    [[ "$j" == "$1" ]] || keep+=("$j")
  done
  _CLUSTER_JOBS=("${keep[@]}")
}

backend_run() {
  local rps="$1" spin="$2" duration="$3" warmup="$4" csv_out="$5" summary_out="$6"
  local pods="${CLUSTER_DRIVER_PODS:-1}" linger="${CLUSTER_LINGER:-30m}"
  local name job file end sched pod i rc=0
  local -a pod_names=() outs=() sums=()
  [[ -n "$_CLUSTER_TMP" ]] || die "backend_run called before backend_setup"
  name="${rps}rps-${spin}ms-$(date -u +%H%M%S)"
  file="${_CLUSTER_TMP}/job-${name}.yaml"
  if ((pods > 1)); then
    job="load-driver-par-${name}"
    cluster_render "${_CLUSTER_ROOT}/deploy/sweep-parallel" "$file" NAME="$name" PODS="$pods" \
      RPS_PER_POD="$(awk -v r="$rps" -v n="$pods" 'BEGIN { printf "%.6g", r / n }')" \
      SPIN="$spin" DURATION="${duration}s" WARMUP="${warmup}s" LINGER="$linger" || return 1
  else
    job="load-driver-${name}"
    cluster_render "${_CLUSTER_ROOT}/deploy/sweep" "$file" NAME="$name" RPS="$rps" SPIN="$spin" \
      DURATION="${duration}s" WARMUP="${warmup}s" LINGER="$linger" || return 1
  fi
  _kc create -f "$file" >/dev/null || {
    log "kubectl create failed for ${file}"
    return 1
  }
  _CLUSTER_JOBS+=("$job")
  echo "$job" >"${_CLUSTER_TMP}/current_job" # for backend_progress
  log "Job ${job} created (${pods} pod(s))"

  if ! _cluster_wait_results "$job" "$pods" $((duration + ${CLUSTER_START_TIMEOUT:-600})); then
    _cluster_delete_job "$job"
    _cluster_forget_job "$job"
    return 1
  fi
  end="$(date +%s.%N)"
  _CLUSTER_LAST_END="$end"
  mapfile -t pod_names < <(_cluster_pods "$job")
  for ((i = 0; i < ${#pod_names[@]}; i++)); do
    pod="${pod_names[$i]}"
    if ((pods == 1)); then
      outs+=("$csv_out")
      sums+=("$summary_out")
    else
      outs+=("${_CLUSTER_TMP}/${pod}.csv")
      sums+=("${_CLUSTER_TMP}/${pod}.json")
    fi
    # Summary first: the driver exits once both files were fetched, and
    # Prometheus (scrape interval 15 s) must scrape its final count before
    # that, so the run's window holds its last seconds.
    _cluster_fetch "$pod" summary.json "${sums[$i]}" || rc=1
    if [[ -s "${sums[$i]}" ]] && sched="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["scheduled"])' "${sums[$i]}")"; then
      wait_for 60 "Prometheus to scrape ${pod}'s final count" prom_scraped_final "pod=$pod" "$sched" "$end" ||
        warn "the run's last seconds may be missing from prometheus-*.json"
    fi
    _cluster_fetch "$pod" results.csv "${outs[$i]}" || rc=1
  done
  _cluster_delete_job "$job"
  _cluster_forget_job "$job"
  ((rc == 0)) || return 1
  if ((pods > 1)); then
    "$PY" "${_CLUSTER_ROOT}/scripts/lib/merge_runs.py" --rps "$rps" --out "$csv_out" \
      --summary "$summary_out" --inputs "${outs[@]}" --summaries "${sums[@]}" || return 1
  fi
  return 0
}

# backend_progress NAME: the latest progress line of each driver pod of the
# run in progress (the Job backend_run created), from kubectl logs.
backend_progress() {
  local job
  job="$(cat "${_CLUSTER_TMP}/current_job" 2>/dev/null)" || return 0
  [[ -n "$job" ]] || return 0
  _kc logs -n "$(_cluster_ns)" -l "job-name=${job}" --prefix --tail=20 --request-timeout=5s 2>/dev/null |
    awk '/ elapsed / { last[$1] = $0 } END { for (p in last) print last[p] }'
  return 0
}

# backend_describe: the live Knative Service's autoscaling annotations and
# the worker container's args, for the report's header.
backend_describe() {
  local ns svc
  ns="$(_cluster_ns)"
  svc="${CLUSTER_SERVICE:-worker}"
  _kc get ksvc -n "$ns" "$svc" -o jsonpath='{.spec.template.spec.containers[0].args}' \
    >"${_CLUSTER_TMP}/args.json" 2>/dev/null || true
  "$PY" - "${_CLUSTER_TMP}/annotations.json" "${_CLUSTER_TMP}/args.json" <<'EOF'
import json, sys
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
ann, args = load(sys.argv[1]), load(sys.argv[2])
p = "autoscaling.knative.dev/"
if isinstance(ann, dict):
    kv = [f"{k[len(p):]}={v}" for k, v in sorted(ann.items()) if k.startswith(p)]
    print("autoscaling=" + (" ".join(kv) or "Knative defaults (no autoscaling annotation)"))
else:
    print("autoscaling=unknown (the Knative Service's annotations could not be read)")
print("worker_flags=" + (" ".join(map(str, args)) if isinstance(args, list) and args
                         else "(the image's defaults)"))
EOF
  echo "autoscaling_source=live Knative Service ${ns}/${svc} (kubectl get ksvc)"
  echo "system_under_test=cluster: the Knative Service ${ns}/${svc} (kubectl context $(_kc config current-context 2>/dev/null || echo unknown)), scraped by kube-prometheus-stack"
  echo "driver_flags=Job template deploy/sweep$( ((${CLUSTER_DRIVER_PODS:-1} > 1)) && echo "-parallel, ${CLUSTER_DRIVER_PODS} pods at rps/${CLUSTER_DRIVER_PODS} each, Poisson arrivals (seed = pod index)")"
}

backend_teardown() {
  local j
  for j in "${_CLUSTER_JOBS[@]}"; do
    log "deleting Job ${j} left by an interrupted run"
    _cluster_delete_job "$j"
  done
  _CLUSTER_JOBS=()
  if [[ -n "$_CLUSTER_PF_PID" ]]; then
    stop_pid "$_CLUSTER_PF_PID" "kubectl port-forward (Prometheus)" 5
    _CLUSTER_PF_PID=""
  fi
  if [[ -n "$_CLUSTER_TMP" && -d "$_CLUSTER_TMP" && "$_CLUSTER_TMP" == */knbench-cluster.* ]]; then
    rm -rf -- "$_CLUSTER_TMP"
  fi
  _CLUSTER_TMP=""
  _CLUSTER_LAST_END=""
}
