#!/usr/bin/env bash
# Pull the time series of one benchmark run out of Prometheus into one JSON file.
#
# Output: a JSON array of {"name": NAME, "result": <Prometheus query_range response>}, the
# same shape as the original project's collect_prometheus.sh, with more queries.
set -euo pipefail

PROG="$(basename "$0")"

usage() {
  cat <<'EOF'
Usage: collect_prometheus.sh PROM_URL START_EPOCH END_EPOCH OUT_JSON [options]

Runs Prometheus range queries (/api/v1/query_range) over one run's window
[START_EPOCH, END_EPOCH] (Unix seconds, may be fractional) and writes OUT_JSON:
a JSON array of {"name": NAME, "query": PROMQL, "result": <query_range response>}.

Every query covers only that window: series built on rate() (rates and
quantiles) start at START + the rate window, so no window reaches back before
START; gauges start at START + one step. All end at END. A window shorter
than the rate window gets one point at END whose rate() covers exactly
[START, END].

Options:
  --mode local|cluster  Both modes collect Knative's autoscaler series (actual,
                        desired, requested, not-ready, pending and terminating
                        pods, panic mode, stable/panic concurrency, the target
                        per pod, excess burst capacity; Knative <=1.18
                        autoscaler_* or >=1.19 kn_revision_* names).
                        cluster: pods = Knative's actual pods.
                        local: pods = Knative's actual pods when local_serving
                        exports them, else the worker instances up
                        (up{job="worker"}: fixed pods); plus local_serving's
                        activator_in_path and queued_requests. Default: cluster.
  --step D              query resolution (Prometheus duration or seconds).
                        Default: 1s in local mode, 15s in cluster mode.
  --rate-window W       range for rate()/histogram_quantile(). Default: 3s in
                        local mode, 1m in cluster mode. Use >= 2 scrape intervals
                        (local mode scrapes every 1s, kube-prometheus-stack 15s).
  --namespace NS        Knative namespace of the worker service (cluster; default default)
  --service NAME        Knative service name of the worker (cluster; default worker)
  --timeout S           per-request curl timeout in seconds (default 30)
  -h, --help            show this help

Series (names in OUT_JSON; quantiles in ms from the *_latency_seconds
histograms, at most 9.05 % off between 100 us and 62 s):
  worker_rps worker_p50_ms worker_p95_ms worker_p99_ms driver_rps
  driver_target_rps driver_achieved_rps driver_p50_ms driver_p95_ms
  driver_p99_ms driver_intended_p50_ms driver_intended_p95_ms
  driver_intended_p99_ms worker_requests_by_status
  driver_requests_by_status worker_inflight driver_inflight
  process_cpu_cores process_rss_bytes
  run_worker_p50_ms run_worker_p95_ms run_worker_p99_ms run_driver_p50_ms
  run_driver_p95_ms run_driver_p99_ms run_driver_intended_p50_ms
  run_driver_intended_p95_ms run_driver_intended_p99_ms (one point at END:
  the whole window's quantiles) pods actual_pods desired_pods requested_pods
  not_ready_pods pending_pods terminating_pods panic_mode stable_concurrency
  panic_concurrency target_concurrency excess_burst_capacity
  hpa_desired_replicas hpa_current_replicas hpa_min_replicas
  hpa_max_replicas hpa_target_cpu_utilization hpa_cpu_utilization (Knative's
  HPA class: kube-state-metrics' kube_horizontalpodautoscaler_* of the HPA
  named <service>-NNNNN) pod_cpu_cores pod_cpu_throttled_ratio
  pod_cpu_utilization_percent pod_memory_working_set_bytes
  pod_cpu_request_cores pod_cpu_limit_cores (the <service>-* pods' containers:
  cAdvisor's container_cpu_*, container_memory_working_set_bytes and
  kube-state-metrics' kube_pod_container_resource_*; local_serving exports
  the same names for its pods)
  local mode adds: activator_in_path queued_requests

Exit status: 0 on success; 1 if Prometheus is unreachable or answers an error
(OUT_JSON is then left untouched); 2 on bad arguments. Needs curl and jq.
EOF
}

KNBENCH_LOG_NAME="$PROG"
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bad_usage() { usage_error "$* (see --help)"; }

positional=()
mode="cluster"
step=""
window=""
namespace="default"
service="worker"
timeout_s="30"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --mode | --step | --rate-window | --namespace | --service | --timeout)
      [[ $# -ge 2 ]] || bad_usage "$1 needs a value"
      case "$1" in
        --mode) mode="$2" ;;
        --step) step="$2" ;;
        --rate-window) window="$2" ;;
        --namespace) namespace="$2" ;;
        --service) service="$2" ;;
        --timeout) timeout_s="$2" ;;
      esac
      shift 2
      ;;
    --mode=* | --step=* | --rate-window=* | --namespace=* | --service=* | --timeout=*)
      value="${1#*=}"
      case "$1" in
        --mode=*) mode="$value" ;;
        --step=*) step="$value" ;;
        --rate-window=*) window="$value" ;;
        --namespace=*) namespace="$value" ;;
        --service=*) service="$value" ;;
        --timeout=*) timeout_s="$value" ;;
      esac
      shift
      ;;
    --)
      shift
      positional+=("$@")
      break
      ;;
    -?*) bad_usage "unknown option $1" ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done

[[ ${#positional[@]} -eq 4 ]] ||
  bad_usage "expected PROM_URL START_EPOCH END_EPOCH OUT_JSON, got ${#positional[@]} argument(s)"
prom_url="${positional[0]%/}"
start="${positional[1]}"
end="${positional[2]}"
out="${positional[3]}"

number_re='^[0-9]+([.][0-9]+)?$'
[[ "$start" =~ $number_re ]] || bad_usage "START_EPOCH must be Unix seconds, got '$start'"
[[ "$end" =~ $number_re ]] || bad_usage "END_EPOCH must be Unix seconds, got '$end'"
awk -v s="$start" -v e="$end" 'BEGIN { exit !(e > s) }' ||
  bad_usage "END_EPOCH ($end) must be after START_EPOCH ($start)"
[[ "$prom_url" =~ ^https?:// ]] || bad_usage "PROM_URL must start with http:// or https://, got '$prom_url'"
[[ "$timeout_s" =~ ^[0-9]+$ && "$timeout_s" -gt 0 ]] || bad_usage "--timeout must be a positive integer"
# Label values are pasted into PromQL strings: refuse anything that could break the quoting.
label_re='^[A-Za-z0-9._-]+$'
[[ "$namespace" =~ $label_re ]] || bad_usage "--namespace has unexpected characters: '$namespace'"
[[ "$service" =~ $label_re ]] || bad_usage "--service has unexpected characters: '$service'"
case "$mode" in
  local)
    : "${step:=1s}"
    : "${window:=3s}"
    ;;
  cluster)
    : "${step:=15s}"
    : "${window:=1m}"
    ;;
  *) bad_usage "--mode must be local or cluster, got '$mode'" ;;
esac
# prom_seconds DURATION [bare]: a Prometheus duration (1m30s, 500ms, 2h) in
# seconds, or failure; with "bare", plain seconds (15, 0.5) too.
prom_seconds() {
  local text="$1" total=0 num unit
  if [[ "${2:-}" == bare && "$text" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "$text"
    return 0
  fi
  [[ "$text" =~ ^([0-9]+(ms|s|m|h|d))+$ ]] || return 1
  while [[ -n "$text" ]]; do
    [[ "$text" =~ ^([0-9]+)(ms|s|m|h|d)(.*)$ ]] || return 1
    num="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[2]}" text="${BASH_REMATCH[3]}"
    case "$unit" in
      ms) total="$(awk -v t="$total" -v n="$num" 'BEGIN { print t + n / 1000 }')" ;;
      s) total="$(awk -v t="$total" -v n="$num" 'BEGIN { print t + n }')" ;;
      m) total="$(awk -v t="$total" -v n="$num" 'BEGIN { print t + n * 60 }')" ;;
      h) total="$(awk -v t="$total" -v n="$num" 'BEGIN { print t + n * 3600 }')" ;;
      d) total="$(awk -v t="$total" -v n="$num" 'BEGIN { print t + n * 86400 }')" ;;
    esac
  done
  echo "$total"
}
window_s="$(prom_seconds "$window")" || bad_usage "--rate-window must be a Prometheus duration (3s, 1m, 500ms), got '$window'"
step_s="$(prom_seconds "$step" bare)" || bad_usage "--step must be a Prometheus duration or seconds (1s, 15s, 15), got '$step'"
awk -v w="$window_s" -v s="$step_s" 'BEGIN { exit !(w > 0 && s > 0) }' ||
  bad_usage "--rate-window and --step must be positive"
# Where each kind of series starts (see --help): rate() windows must stay
# inside [start, end]. A run shorter than the window gets one point at END
# with the window shrunk to the run (in whole milliseconds).
read -r window_start instant_start window < <(awk -v s="$start" -v e="$end" -v w="$window_s" \
  -v st="$step_s" -v win="$window" 'BEGIN {
    if (s + w <= e) { ws = s + w } else { ws = e; win = int((e - s) * 1000) "ms" }
    is = (s + st <= e) ? s + st : e
    printf "%.3f %.3f %s\n", ws, is, win }')
[[ "$window" != 0ms ]] || bad_usage "the window [START_EPOCH, END_EPOCH] is shorter than 1 ms"

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed"
done
out_dir="$(dirname -- "$out")"
[[ -d "$out_dir" ]] || die "output directory $out_dir does not exist"

# Queries, in output order. Names are a contract with tools/analyze_plot.py and the tests.
names=()
queries=()
starts=() # per query: where its range starts (see above)
add() {   # add NAME QUERY: a series over rate() windows
  names+=("$1")
  queries+=("$2")
  starts+=("$window_start")
}
add_gauge() { # add_gauge NAME QUERY: instant selectors only
  names+=("$1")
  queries+=("$2")
  starts+=("$instant_start")
}
add_run() { # add_run NAME QUERY: one point at END, over the whole window
  names+=("$1")
  queries+=("$2")
  starts+=("$end")
}
# Quantiles come from the *_latency_seconds histograms (buckets 100 us *
# 2^(k/8): at most 9.05 % off between 100 us and 62 s), reported in ms.
hq() { # hq Q HISTOGRAM: quantile over all instances, per rate window
  echo "1000 * histogram_quantile($1, sum by (le) (rate($2_bucket[$window])))"
}
# The whole window's buckets, per series: its last count in the window
# (max_over_time: a counter only grows) minus its count at START when it
# existed then (a long-lived worker), else its last count (a driver or a pod
# started during the run counts from zero). Series that stopped before END
# count too: a driver stopped after its final scrape, a pod local serving
# scaled down. Exact, unlike increase(), which extrapolates.
run_offset="$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%dms\n", (e - s) * 1000 }')"
hq_run() { # hq_run Q HISTOGRAM
  local b="$2_bucket"
  local last="max_over_time(${b}[${run_offset}])"
  echo "1000 * histogram_quantile($1, sum by (le) (($last - $b offset $run_offset) or $last))"
}
add worker_rps "sum(rate(worker_requests_total[$window]))"
add worker_p50_ms "$(hq 0.5 worker_request_latency_seconds)"
add worker_p95_ms "$(hq 0.95 worker_request_latency_seconds)"
add worker_p99_ms "$(hq 0.99 worker_request_latency_seconds)"
# driver_rps: every request the driver accounted for (one per CSV row);
# driver_achieved_rps: only those actually sent (dropped ones were never sent).
add driver_rps "sum(rate(load_driver_requests_total[$window]))"
add_gauge driver_target_rps "sum(load_driver_target_rps)"
add driver_achieved_rps "sum(rate(load_driver_requests_total{status!=\"dropped\"}[$window]))"
add driver_p50_ms "$(hq 0.5 load_driver_request_latency_seconds)"
add driver_p95_ms "$(hq 0.95 load_driver_request_latency_seconds)"
add driver_p99_ms "$(hq 0.99 load_driver_request_latency_seconds)"
add driver_intended_p50_ms "$(hq 0.5 load_driver_intended_latency_seconds)"
add driver_intended_p95_ms "$(hq 0.95 load_driver_intended_latency_seconds)"
add driver_intended_p99_ms "$(hq 0.99 load_driver_intended_latency_seconds)"
add worker_requests_by_status "sum by (status) (rate(worker_requests_total[$window]))"
add driver_requests_by_status "sum by (status) (rate(load_driver_requests_total[$window]))"
add_gauge worker_inflight "sum(worker_inflight_requests)"
add_gauge driver_inflight "sum(load_driver_inflight_requests)"
add process_cpu_cores \
  "sum by (job, instance) (rate(process_cpu_seconds_total{job=~\"worker|load_driver|local_serving\"}[$window]))"
add_gauge process_rss_bytes \
  "sum by (job, instance) (process_resident_memory_bytes{job=~\"worker|load_driver|local_serving\"})"
for q in 50 95 99; do
  add_run "run_worker_p${q}_ms" "$(hq_run "0.$q" worker_request_latency_seconds)"
  add_run "run_driver_p${q}_ms" "$(hq_run "0.$q" load_driver_request_latency_seconds)"
  add_run "run_driver_intended_p${q}_ms" "$(hq_run "0.$q" load_driver_intended_latency_seconds)"
done
# Knative's autoscaler (on a cluster; locally, local_serving exports the same
# names): the <=1.18 (OpenCensus) name first, the >=1.19 (OpenTelemetry) name
# second, summed over the service's revisions (normally one during a run).
old_sel="{namespace_name=\"$namespace\",service_name=\"$service\"}"
new_sel="{k8s_namespace_name=\"$namespace\",kn_service_name=\"$service\"}"
kn() { echo "$1(autoscaler_$2$old_sel) or $1(kn_revision_$3$new_sel)"; }
if [[ "$mode" == "local" ]]; then
  # With fixed pods there is no autoscaler: up is 1 per scraped-and-healthy
  # worker, so the sum counts workers up (0 when all are down).
  add_gauge pods "($(kn sum actual_pods pods_count)) or sum(up{job=\"worker\"})"
else
  add_gauge pods "$(kn sum actual_pods pods_count)"
fi
add_gauge actual_pods "$(kn sum actual_pods pods_count)"
add_gauge desired_pods "$(kn sum desired_pods pods_desired)"
add_gauge requested_pods "$(kn sum requested_pods pods_requested)"
add_gauge not_ready_pods "$(kn sum not_ready_pods pods_not_ready_count)"
add_gauge pending_pods "$(kn sum pending_pods pods_pending_count)"
add_gauge terminating_pods "$(kn sum terminating_pods pods_terminating_count)"
add_gauge panic_mode "$(kn max panic_mode panic_mode)"
add_gauge stable_concurrency "$(kn sum stable_request_concurrency concurrency_stable)"
add_gauge panic_concurrency "$(kn sum panic_request_concurrency concurrency_panic)"
# Per pod (target x utilization), the same for every revision: max, not sum.
add_gauge target_concurrency "$(kn max target_concurrency_per_pod concurrency_target)"
add_gauge excess_burst_capacity "$(kn sum excess_burst_capacity capacity_excess)"
# Knative's HPA class: the HorizontalPodAutoscaler Knative makes for each
# revision, named after it (<service>-00001), from kube-state-metrics; locally,
# local_serving exports the same series when it runs the HPA class.
hpa_labels="namespace=\"$namespace\",horizontalpodautoscaler=~\"${service}-[0-9]+\""
hpa_cpu="$hpa_labels,metric_name=\"cpu\",metric_target_type=\"utilization\""
add_gauge hpa_desired_replicas "sum(kube_horizontalpodautoscaler_status_desired_replicas{$hpa_labels})"
add_gauge hpa_current_replicas "sum(kube_horizontalpodautoscaler_status_current_replicas{$hpa_labels})"
add_gauge hpa_min_replicas "max(kube_horizontalpodautoscaler_spec_min_replicas{$hpa_labels})"
add_gauge hpa_max_replicas "max(kube_horizontalpodautoscaler_spec_max_replicas{$hpa_labels})"
add_gauge hpa_target_cpu_utilization "max(kube_horizontalpodautoscaler_spec_target_metric{$hpa_cpu})"
add_gauge hpa_cpu_utilization "max(kube_horizontalpodautoscaler_status_target_metric{$hpa_cpu})"
# The worker's pods as cAdvisor and kube-state-metrics see them (locally,
# local_serving exports the same names for its pods' cgroups), every
# container of the pod as the HPA counts them (not cAdvisor's pod-level ""
# or the pause container "POD"): CPU in cores, the share of CFS periods the
# CPU limit throttled, the memory working set, and CPU in percent of the
# pods' CPU requests (what the HPA class scales on).
pod_labels="namespace=\"$namespace\",pod=~\"${service}-.*\",container!=\"\",container!=\"POD\""
cpu_rate="sum(rate(container_cpu_usage_seconds_total{$pod_labels}[$window]))"
cpu_requests="sum(kube_pod_container_resource_requests{$pod_labels,resource=\"cpu\"})"
add pod_cpu_cores "$cpu_rate"
add pod_cpu_throttled_ratio \
  "sum(rate(container_cpu_cfs_throttled_periods_total{$pod_labels}[$window])) / sum(rate(container_cpu_cfs_periods_total{$pod_labels}[$window]))"
add pod_cpu_utilization_percent "100 * $cpu_rate / $cpu_requests"
add_gauge pod_memory_working_set_bytes "sum(container_memory_working_set_bytes{$pod_labels})"
add_gauge pod_cpu_request_cores "$cpu_requests"
add_gauge pod_cpu_limit_cores "sum(kube_pod_container_resource_limits{$pod_labels,resource=\"cpu\"})"
if [[ "$mode" == "local" ]]; then
  add_gauge activator_in_path "max(local_serving_activator_in_path)"
  add_gauge queued_requests "sum(local_serving_queued_requests)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/collect_prometheus.XXXXXX")"
tmp_out=""
cleanup() {
  rm -rf -- "$work"
  if [[ -n "$tmp_out" ]]; then rm -f -- "$tmp_out"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for i in "${!names[@]}"; do
  name="${names[$i]}"
  query="${queries[$i]}"
  body="$work/$i.json"
  curl_err="$work/$i.err"
  # POST form body: curl URL-encodes each value, so PromQL quotes, braces, '|' and '+' survive.
  if ! http_code="$(curl -sS --connect-timeout 5 --max-time "$timeout_s" \
    -o "$body" -w '%{http_code}' \
    --data-urlencode "query=$query" --data-urlencode "start=${starts[$i]}" \
    --data-urlencode "end=$end" --data-urlencode "step=$step" \
    "$prom_url/api/v1/query_range" 2>"$curl_err")"; then
    die "cannot reach Prometheus at $prom_url: $(tr '\n' ' ' <"$curl_err")"
  fi
  status="$(jq -r 'if type == "object" then (.status // "missing") else "not an object" end' \
    "$body" 2>/dev/null || echo "not JSON")"
  if [[ "$status" != "success" ]]; then
    detail="$(jq -r '"\(.errorType // "?"): \(.error // "?")"' "$body" 2>/dev/null ||
      head -c 200 "$body" | tr '\n' ' ')"
    die "Prometheus at $prom_url answered HTTP $http_code, status '$status' for $name ($query): $detail"
  fi
  jq -c --arg name "$name" --arg query "$query" '{name: $name, query: $query, result: .}' \
    "$body" >>"$work/parts.jsonl"
done

tmp_out="$(mktemp "$out.tmp.XXXXXX")"
jq -s '.' "$work/parts.jsonl" >"$tmp_out"
chmod 644 "$tmp_out"
mv -f -- "$tmp_out" "$out"
tmp_out=""
echo "$PROG: wrote ${#names[@]} series ($mode mode, step $step, window $window) to $out" >&2
