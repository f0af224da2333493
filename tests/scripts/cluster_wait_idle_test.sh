#!/usr/bin/env bash
# The cluster backend's wait between runs (backend_wait_idle), against a
# stand-in kubectl whose worker pod count drops by one per listing: it
# returns once the pods are back at min-scale (HPA: at least 1), gives up
# after CLUSTER_IDLE_TIMEOUT, reports a kubectl that cannot list pods, and
# keeps max(GAP, the KPA stable window) after the previous run.
# The scenarios' commands expand inside scenario's shell: single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-idle-test.XXXXXX")"
server=""
cleanup() {
  [[ -z "$server" ]] || kill "$server" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"${tmp}/kubectl" <<'FAKE'
#!/usr/bin/env bash
# pods file: the pod count the next listing reports (then one fewer, down to
# the floor file's count); annotations file: the ksvc template annotations.
set -euo pipefail
state="$FAKE_STATE"
echo "$*" >>"${state}/calls"
case "$*" in
  version* | "get crd"* | "config"*) echo fake ;;
  "get ksvc"*annotations*) cat "${state}/annotations" ;;
  "get ksvc"*) echo found ;;
  "get pods"*serving.knative.dev/service=worker*)
    [[ -e "${state}/pods_fail" ]] && { echo "Error from server (Forbidden): pods is forbidden" >&2; exit 1; }
    n="$(cat "${state}/pods")"
    for ((i = 1; i <= n; i++)); do echo "pod/worker-00001-deployment-${i}"; done
    floor="$(cat "${state}/floor")"
    if ((n > floor)); then echo $((n - 1)) >"${state}/pods"; fi
    ;;
  kustomize*) exec kubectl "$@" ;;
  *) echo "fake kubectl: unhandled: $*" >&2; exit 1 ;;
esac
FAKE
chmod +x "${tmp}/kubectl"
export FAKE_STATE="${tmp}" KUBECTL="${tmp}/kubectl" CLUSTER_IDLE_POLL=0.1
# A stand-in Prometheus: backend_setup only asks /-/ready.
mkdir -p "${tmp}/www/-" && echo ready >"${tmp}/www/-/ready"
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"
port=""
free_port port
/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "${tmp}/www" >/dev/null 2>&1 &
server=$!
export PROM_URL="http://127.0.0.1:${port}"
wait_for 10 "the stand-in Prometheus" http_ok "${PROM_URL}/-/ready" || fail "stand-in Prometheus did not start"

# scenario ANNOTATIONS PODS FLOOR [extra env...] -- COMMANDS: runs COMMANDS
# after backend_setup in a subshell with the backend sourced.
scenario() {
  local annotations="$1" pods="$2" floor="$3"
  shift 3
  echo "$annotations" >"${tmp}/annotations"
  echo "$pods" >"${tmp}/pods"
  echo "$floor" >"${tmp}/floor"
  rm -f "${tmp}/calls" "${tmp}/pods_fail"
  bash -c 'set -euo pipefail
    source "$1/scripts/lib/cluster_mode.sh"
    backend_setup >/dev/null 2>&1
    trap backend_teardown EXIT
    eval "$2"' scenario "$ROOT" "$*"
}
listings() { grep -c '^get pods' "${tmp}/calls" || true; }

# The stable window as Knative writes it (it may be up to 1h).
for case in '{"autoscaling.knative.dev/window":"1h"}=0 3600' \
  '{"autoscaling.knative.dev/window":"1m30s"}=0 90' \
  '{"autoscaling.knative.dev/min-scale":"2","autoscaling.knative.dev/window":"6s"}=2 6' '{}=0 60'; do
  got="$(bash -c 'source "$1/scripts/lib/cluster_mode.sh"; _cluster_autoscaling' _ "$ROOT" <<<"${case%%=*}")"
  [[ "$got" == "${case#*=}" ]] || fail "annotations ${case%%=*}: got '${got}', expected '${case#*=}'"
done

# min-scale 1: 3 -> 2 -> 1 pods, idle at the third listing.
scenario '{"autoscaling.knative.dev/min-scale":"1"}' 3 0 'backend_wait_idle 1' ||
  fail "min-scale 1: did not return 0"
[[ "$(listings)" == 3 ]] || fail "min-scale 1: expected 3 pod listings, got $(listings)"

# Scale to zero (no min-scale): 2 -> 1 -> 0.
scenario '{}' 2 0 'backend_wait_idle 1' || fail "scale to zero: did not return 0"
[[ "$(listings)" == 3 ]] || fail "scale to zero: expected 3 pod listings, got $(listings)"

# HPA cannot go below 1 pod: idle at 1 even without min-scale.
scenario '{"autoscaling.knative.dev/class":"hpa.autoscaling.knative.dev"}' 2 1 'backend_wait_idle 1' ||
  fail "HPA: did not return 0 at 1 pod"
[[ "$(listings)" == 2 ]] || fail "HPA: expected 2 pod listings, got $(listings)"

# Pods that never go: bounded by CLUSTER_IDLE_TIMEOUT, non-zero, says why.
start=$SECONDS
rc=0
out="$(CLUSTER_IDLE_TIMEOUT=1 scenario '{}' 2 2 'backend_wait_idle 1' 2>&1)" || rc=$?
((rc != 0)) || fail "stuck pods: backend_wait_idle returned 0"
grep -q "still has 2 pod(s) after 1s (idle: 0)" <<<"$out" || fail "stuck pods: message was: ${out}"
((SECONDS - start < 10)) || fail "stuck pods: the 1 s timeout took $((SECONDS - start)) s"

# kubectl cannot list pods (RBAC): reported, non-zero, no wait.
rc=0
out="$(scenario '{}' 2 0 'touch "$FAKE_STATE/pods_fail"; backend_wait_idle 1' 2>&1)" || rc=$?
((rc != 0)) || fail "forbidden pod listing: backend_wait_idle returned 0"
grep -q "cannot list the worker's pods" <<<"$out" || fail "forbidden listing: message was: ${out}"

# After a run: max(GAP, stable window) since its end. Window 2s > gap 1 s.
out="$(scenario '{"autoscaling.knative.dev/window":"2s"}' 0 0 \
  '_CLUSTER_LAST_END="$(date +%s.%N)"; t0=$(date +%s%N); backend_wait_idle 1; echo $((($(date +%s%N) - t0) / 1000000))')" ||
  fail "gap: backend_wait_idle failed"
((out >= 1900 && out < 5000)) || fail "gap: waited ${out} ms after the run, expected the 2 s stable window"
out="$(scenario '{"autoscaling.knative.dev/window":"1s"}' 0 0 \
  '_CLUSTER_LAST_END="$(date +%s.%N)"; t0=$(date +%s%N); backend_wait_idle 2; echo $((($(date +%s%N) - t0) / 1000000))')" ||
  fail "gap: backend_wait_idle failed"
((out >= 1900 && out < 5000)) || fail "gap: waited ${out} ms after the run, expected the 2 s gap"
echo "PASS"
