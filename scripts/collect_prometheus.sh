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

Runs Prometheus range queries (/api/v1/query_range) over [START_EPOCH, END_EPOCH]
(Unix seconds, may be fractional) and writes OUT_JSON: a JSON array of
{"name": NAME, "result": <Prometheus query_range response>}.

Options:
  --mode local|cluster  local: pods = worker instances up (up{job="worker"}).
                        cluster: pods = Knative actual pods, plus actual/desired/
                        requested pods, panic mode, stable/panic concurrency and
                        excess burst capacity (Knative <=1.18 autoscaler_* or
                        >=1.19 kn_revision_* names). Default: cluster.
  --step D              query resolution (Prometheus duration or seconds).
                        Default: 1s in local mode, 15s in cluster mode.
  --rate-window W       range for rate()/histogram_quantile(). Default: 5s in
                        local mode, 1m in cluster mode. Use >= 2 scrape intervals.
  --namespace NS        Knative namespace of the worker service (cluster; default default)
  --service NAME        Knative service name of the worker (cluster; default worker)
  --timeout S           per-request curl timeout in seconds (default 30)
  -h, --help            show this help

Series (names in OUT_JSON):
  worker_rps worker_p50_ms worker_p95_ms worker_p99_ms driver_rps
  driver_target_rps driver_achieved_rps driver_p50_ms driver_p95_ms
  driver_p99_ms driver_intended_p99_ms worker_requests_by_status
  driver_requests_by_status worker_inflight driver_inflight
  process_cpu_cores process_rss_bytes pods
  cluster mode adds: actual_pods desired_pods requested_pods panic_mode
  stable_concurrency panic_concurrency excess_burst_capacity

Exit status: 0 on success; 1 if Prometheus is unreachable or answers an error
(OUT_JSON is then left untouched); 2 on bad arguments. Needs curl and jq.
EOF
}

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}
bad_usage() {
  echo "$PROG: error: $* (see --help)" >&2
  exit 2
}

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
    : "${window:=5s}"
    ;;
  cluster)
    : "${step:=15s}"
    : "${window:=1m}"
    ;;
  *) bad_usage "--mode must be local or cluster, got '$mode'" ;;
esac
for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed"
done
out_dir="$(dirname -- "$out")"
[[ -d "$out_dir" ]] || die "output directory $out_dir does not exist"

# Queries, in output order. Names are a contract with tools/analyze_plot.py and the tests.
names=()
queries=()
add() {
  names+=("$1")
  queries+=("$2")
}
hq() { # histogram quantile over all instances of a histogram
  echo "histogram_quantile($1, sum by (le) (rate($2_bucket[$window])))"
}
add worker_rps "sum(rate(worker_requests_total[$window]))"
add worker_p50_ms "$(hq 0.5 worker_request_latency_ms)"
add worker_p95_ms "$(hq 0.95 worker_request_latency_ms)"
add worker_p99_ms "$(hq 0.99 worker_request_latency_ms)"
# driver_rps: every request the driver accounted for (one per CSV row);
# driver_achieved_rps: only those actually sent (dropped ones were never sent).
add driver_rps "sum(rate(load_driver_requests_total[$window]))"
add driver_target_rps "sum(load_driver_target_rps)"
add driver_achieved_rps "sum(rate(load_driver_requests_total{status!=\"dropped\"}[$window]))"
add driver_p50_ms "$(hq 0.5 load_driver_request_latency_ms)"
add driver_p95_ms "$(hq 0.95 load_driver_request_latency_ms)"
add driver_p99_ms "$(hq 0.99 load_driver_request_latency_ms)"
add driver_intended_p99_ms "$(hq 0.99 load_driver_intended_latency_ms)"
add worker_requests_by_status "sum by (status) (rate(worker_requests_total[$window]))"
add driver_requests_by_status "sum by (status) (rate(load_driver_requests_total[$window]))"
add worker_inflight "sum(worker_inflight_requests)"
add driver_inflight "sum(load_driver_inflight_requests)"
add process_cpu_cores \
  "sum by (job, instance) (rate(process_cpu_seconds_total{job=~\"worker|load_driver\"}[$window]))"
add process_rss_bytes \
  "sum by (job, instance) (process_resident_memory_bytes{job=~\"worker|load_driver\"})"
if [[ "$mode" == "local" ]]; then
  # up is 1 per scraped-and-healthy instance: the sum counts workers up (0 when all are down).
  add pods "sum(up{job=\"worker\"})"
else
  old_sel="{namespace_name=\"$namespace\",service_name=\"$service\"}"
  new_sel="{k8s_namespace_name=\"$namespace\",kn_service_name=\"$service\"}"
  # Knative <=1.18 (OpenCensus) name first, >=1.19 (OpenTelemetry) name second.
  kn() { echo "$1(autoscaler_$2$old_sel) or $1(kn_revision_$3$new_sel)"; }
  add pods "$(kn sum actual_pods pods_count)"
  add actual_pods "$(kn sum actual_pods pods_count)"
  add desired_pods "$(kn sum desired_pods pods_desired)"
  add requested_pods "$(kn sum requested_pods pods_requested)"
  add panic_mode "$(kn max panic_mode panic_mode)"
  add stable_concurrency "$(kn sum stable_request_concurrency concurrency_stable)"
  add panic_concurrency "$(kn sum panic_request_concurrency concurrency_panic)"
  add excess_burst_capacity "$(kn sum excess_burst_capacity capacity_excess)"
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
    --data-urlencode "query=$query" --data-urlencode "start=$start" \
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
  jq -c --arg name "$name" '{name: $name, result: .}' "$body" >>"$work/parts.jsonl"
done

tmp_out="$(mktemp "$out.tmp.XXXXXX")"
jq -s '.' "$work/parts.jsonl" >"$tmp_out"
chmod 644 "$tmp_out"
mv -f -- "$tmp_out" "$out"
tmp_out=""
echo "$PROG: wrote ${#names[@]} series ($mode mode, step $step, window $window) to $out" >&2
