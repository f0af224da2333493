#!/usr/bin/env bash
# Tests of the cluster scripts without a cluster: shellcheck, --help, clear
# errors when kubectl or the cluster is missing, build_and_push's image edit,
# port_forward's own-PIDs-only stop, and the cluster sweep
# (run_experiments.sh --mode cluster, tools/knbench_sweep's cluster backend)
# against deploy/tests/fake_kubectl.sh (records calls, serves results like the
# pod proxy) and a fake Prometheus on loopback.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
SCRIPTS=(scripts/build_and_push.sh scripts/deploy_all.sh scripts/port_forward.sh)
PY=/usr/bin/python3

if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  echo "Usage: deploy/tests/check_scripts.sh   (run by ctest as deploy.scripts)"
  exit 0
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/knbench-check-scripts.XXXXXX")"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Whatever port_forward.sh may still track (only its own file).
  if [[ -f "${TMP}/pf.pids" ]]; then
    PID_FILE="${TMP}/pf.pids" "${ROOT}/scripts/port_forward.sh" stop >/dev/null 2>&1 || true
  fi
  rm -rf -- "$TMP"
}
trap cleanup EXIT

FAILS=0
ok() { echo "ok   $*"; }
fail() {
  echo "FAIL $*" >&2
  FAILS=$((FAILS + 1))
}
# expect_fail DESC PATTERN CMD...: CMD exits non-zero and its stderr matches PATTERN.
expect_fail() {
  local desc="$1" pattern="$2" rc=0
  shift 2
  "$@" >"${TMP}/out" 2>"${TMP}/err" || rc=$?
  if ((rc != 0)) && grep -Eq "$pattern" "${TMP}/err"; then
    ok "$desc: $(head -n 1 "${TMP}/err")"
  else
    fail "$desc: rc=${rc}, stderr: $(head -n 3 "${TMP}/err")"
  fi
}
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# alive PID: running, not a zombie waiting to be reaped.
alive() { [[ -r "/proc/$1/stat" ]] && [[ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]]; }
wait_http() { # URL: bounded wait for any HTTP answer
  local deadline=$((SECONDS + 20))
  until curl -s -o /dev/null --max-time 1 "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

cd "$ROOT"
# --- static -----------------------------------------------------------------
if shellcheck -x "${SCRIPTS[@]}" scripts/run_experiments.sh deploy/tests/setup.sh \
  deploy/tests/check_scripts.sh deploy/tests/fake_kubectl.sh docker/runtime_rootfs.sh \
  tests/images/images_test.sh; then
  ok "shellcheck"
else
  fail "shellcheck"
fi
for s in "${SCRIPTS[@]}" deploy/tests/setup.sh; do
  if "$s" --help >"${TMP}/out" 2>&1 && grep -q '^Usage:' "${TMP}/out"; then ok "$s --help"; else fail "$s --help"; fi
  expect_fail "$s rejects an unknown flag" "unknown argument" "$s" --no-such-flag
  grep -q '^set -euo pipefail' "$s" || fail "$s lacks set -euo pipefail"
done

# --- kubectl / cluster missing ----------------------------------------------
export FAKE_KUBECTL_LOG="${TMP}/kubectl.log" FAKE_KUBECTL_STATE="${TMP}/state"
FAKE="${HERE}/fake_kubectl.sh"
expect_fail "deploy_all.sh without kubectl" "kubectl not found" env KUBECTL=/nonexistent/kubectl scripts/deploy_all.sh
expect_fail "port_forward.sh without kubectl" "kubectl not found" \
  env KUBECTL=/nonexistent/kubectl PID_FILE="${TMP}/pf.pids" scripts/port_forward.sh
expect_fail "deploy_all.sh without a cluster" "cannot reach a Kubernetes cluster" \
  env KUBECTL="$FAKE" FAKE_KUBECTL_CLUSTER=down scripts/deploy_all.sh
expect_fail "port_forward.sh without a cluster" "cannot reach a Kubernetes cluster" \
  env KUBECTL="$FAKE" FAKE_KUBECTL_CLUSTER=down PID_FILE="${TMP}/pf.pids" scripts/port_forward.sh
# The cluster sweep: one run, nothing written on a failed start.
CLUSTER_SWEEP=(scripts/run_experiments.sh --mode cluster --rps-start 10 --rps-max 10 --spin-start 100
  --spin-max 100 --duration 60s --warmup 10 --no-analyze --outdir "${TMP}/results")
expect_fail "cluster backend without kubectl" "kubectl not found" \
  env KUBECTL=/nonexistent/kubectl "${CLUSTER_SWEEP[@]}" --sweep-id nokubectl
expect_fail "cluster backend without a cluster" "cannot reach a Kubernetes cluster" \
  env KUBECTL="$FAKE" FAKE_KUBECTL_CLUSTER=down "${CLUSTER_SWEEP[@]}" --sweep-id nocluster

# --- build_and_push.sh --------------------------------------------------------
expect_fail "build_and_push.sh without REGISTRY" "REGISTRY is not set" env -u REGISTRY scripts/build_and_push.sh --tag x
expect_fail "build_and_push.sh without a builder" "not found" \
  scripts/build_and_push.sh --registry r.example/me --tag t --builder /nonexistent/docker
mkdir -p "${TMP}/deploy"
cp -r deploy/base deploy/components deploy/sweep deploy/driver "${TMP}/deploy/"
cp deploy/kustomization.yaml "${TMP}/deploy/"
if scripts/build_and_push.sh --registry registry.example:5000/team --tag v1.2 --set-images-only \
  --images-file "${TMP}/deploy/components/images/kustomization.yaml" >/dev/null; then
  imgs="$(for d in "${TMP}/deploy" "${TMP}/deploy/sweep" "${TMP}/deploy/driver"; do kubectl kustomize "$d"; done |
    sed -n 's/^ *image: //p' | sort -u | tr '\n' ' ')"
  if [[ "$imgs" == "registry.example:5000/team/knbench-load-driver:v1.2 registry.example:5000/team/knbench-worker:v1.2 " ]]; then
    ok "build_and_push.sh --set-images-only rewrites every rendered image: ${imgs}"
  else
    fail "build_and_push.sh --set-images-only: rendered images are '${imgs}'"
  fi
  grep -q '^# The single place' "${TMP}/deploy/components/images/kustomization.yaml" ||
    fail "build_and_push.sh dropped the comments of the images file"
else
  fail "build_and_push.sh --set-images-only failed"
fi
# No Docker engine: the builder falls to the first of docker, podman, buildah
# whose `info` works, and buildah builds with its layer cache on.
mkdir -p "${TMP}/bin"
for b in docker podman buildah; do
  cat >"${TMP}/bin/${b}" <<EOF
#!/bin/sh
echo "${b} \$*" >>"${TMP}/builders.log"
if [ "\$1" = info ] && [ ${b} != buildah ]; then echo "${b}: no engine" >&2; exit 1; fi
exit 0
EOF
  chmod +x "${TMP}/bin/${b}"
done
cp deploy/components/images/kustomization.yaml "${TMP}/images-builder.yaml"
if env PATH="${TMP}/bin:${PATH}" scripts/build_and_push.sh --registry r.example/me --tag t1 \
  --images-file "${TMP}/images-builder.yaml" >"${TMP}/out" 2>&1; then
  want="buildah build --layers -f ${ROOT}/docker/worker.Dockerfile -t r.example/me/knbench-worker:t1 ${ROOT}
buildah build --layers -f ${ROOT}/docker/load_driver.Dockerfile -t r.example/me/knbench-load-driver:t1 ${ROOT}
buildah push r.example/me/knbench-worker:t1
buildah push r.example/me/knbench-load-driver:t1"
  if [[ "$(grep -v ' info$' "${TMP}/builders.log")" == "$want" ]] &&
    grep -q '^docker info$' "${TMP}/builders.log" && grep -q '^podman info$' "${TMP}/builders.log"; then
    ok "build_and_push.sh without a Docker engine or podman builds and pushes with buildah (layers cached)"
  else
    fail "build_and_push.sh builder fallback ran: $(cat "${TMP}/builders.log")"
  fi
else
  fail "build_and_push.sh with buildah only: $(tail -n 3 "${TMP}/out")"
fi
sed -i 's|name: knbench/load-driver|name: other/image|' "${TMP}/deploy/components/images/kustomization.yaml"
expect_fail "build_and_push.sh with the entry missing" "no images entry" scripts/build_and_push.sh \
  --registry r.example/me --tag t --set-images-only --images-file "${TMP}/deploy/components/images/kustomization.yaml"

# --- port_forward.sh: stops only its own port-forwards -------------------------
GP="$(free_port)"
PP="$(free_port)"
# A decoy port-forward this script started itself, not via port_forward.sh.
DP="$(free_port)"
KUBECTL="$FAKE" "$FAKE" port-forward -n x svc/decoy "${DP}:1" --address 127.0.0.1 &
DECOY=$!
PIDS+=("$DECOY")
sleep 300 &
SLEEPER=$!
PIDS+=("$SLEEPER")
if env KUBECTL="$FAKE" PID_FILE="${TMP}/pf.pids" KNBENCH_STATE_DIR="$TMP" scripts/port_forward.sh \
  --grafana-port "$GP" --prom-port "$PP" >"${TMP}/pf.out" 2>&1; then
  if grep -q "http://127.0.0.1:${GP}" "${TMP}/pf.out" && grep -q "admin-password" "${TMP}/pf.out"; then
    ok "port_forward.sh start prints the URLs and the credential commands"
  else
    fail "port_forward.sh output: $(cat "${TMP}/pf.out")"
  fi
  tracked="$(awk '{print $1}' "${TMP}/pf.pids" | tr '\n' ' ')"
  [[ "$(wc -l <"${TMP}/pf.pids")" -eq 2 ]] || fail "pid file should list 2 port-forwards: $(cat "${TMP}/pf.pids")"
  expect_fail "port_forward.sh refuses a second start" "already running" \
    env KUBECTL="$FAKE" PID_FILE="${TMP}/pf.pids" scripts/port_forward.sh --grafana-port "$GP" --prom-port "$PP"
  # A stale entry naming an unrelated process must not be killed.
  echo "${SLEEPER} stale-entry" >>"${TMP}/pf.pids"
  PID_FILE="${TMP}/pf.pids" scripts/port_forward.sh stop >"${TMP}/stop.out"
  for pid in $tracked; do
    if alive "$pid"; then fail "tracked port-forward ${pid} survived stop"; fi
  done
  if alive "$DECOY" && alive "$SLEEPER"; then
    ok "port_forward.sh stop killed its 2 port-forwards and left the decoy port-forward and the stale PID alone"
  else
    fail "port_forward.sh stop killed a process it did not start"
  fi
  [[ ! -f "${TMP}/pf.pids" ]] || fail "pid file not removed by stop"
  if PID_FILE="${TMP}/pf.pids" scripts/port_forward.sh status >/dev/null; then fail "status after stop should fail"; fi
else
  fail "port_forward.sh start with the fake kubectl: $(cat "${TMP}/pf.out")"
fi

# --- the cluster sweep against the fake kubectl and a fake Prometheus ----------
PROMP="$(free_port)"
cat >"${TMP}/fake_prom.py" <<'EOF'
import http.server, json, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/-/ready"):
            body = b"ready"
        else:  # any instant query: one sample, "scraped" in the future
            body = json.dumps({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {}, "value": [time.time(), str(time.time() + 60)]}]}}).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def do_POST(self):  # query_range (collect_prometheus.sh): one flat series
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        t = time.time()
        body = json.dumps({"status": "success", "data": {"resultType": "matrix",
            "result": [{"metric": {}, "values": [[t - 15, "1"], [t, "1"]]}]}}).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
"$PY" "${TMP}/fake_prom.py" "$PROMP" &
PIDS+=("$!")
wait_http "http://127.0.0.1:${PROMP}/-/ready" || fail "fake Prometheus did not start"
: >"$FAKE_KUBECTL_LOG"
if env KUBECTL="$FAKE" "${CLUSTER_SWEEP[@]}" --sweep-id one --prom-url "http://127.0.0.1:${PROMP}" \
  >"${TMP}/cm.out" 2>&1; then
  job="$(sed -n 's/^create .*job-\(.*\)\.yaml$/load-driver-\1/p' "$FAKE_KUBECTL_LOG" | head -n 1)"
  run="${TMP}/results/one"
  if [[ "$(head -n 1 "${run}/results-10rps-100ms.csv")" == timestamp_ms,rps,spin_ms,seq,* ]] &&
    grep -q '"scheduled"' "${run}/summary-10rps-100ms.json"; then
    ok "cluster backend wrote the run's CSV and summary"
  else
    fail "cluster backend output files are wrong"
  fi
  if grep -q "get --raw /api/v1/namespaces/default/pods/${job}-abcde:2113/proxy/results.csv" "$FAKE_KUBECTL_LOG" &&
    grep -q "get --raw /api/v1/namespaces/default/pods/${job}-abcde:2113/proxy/summary.json" "$FAKE_KUBECTL_LOG"; then
    ok "results fetched through the API server pod proxy on port 2113"
    # The driver exits once both files were fetched: the summary (and the
    # final Prometheus scrape) must come before results.csv.
    if [[ "$(grep -n -- '--raw' "$FAKE_KUBECTL_LOG" | head -n 1)" == *summary.json* ]]; then
      ok "summary.json fetched before results.csv"
    else
      fail "results.csv fetched before summary.json"
    fi
  else
    fail "no pod-proxy fetch in: $(grep -- --raw "$FAKE_KUBECTL_LOG")"
  fi
  if grep -q -- "--rps=10" "${FAKE_KUBECTL_STATE}/${job}.yaml" && grep -q -- "--duration=60s" "${FAKE_KUBECTL_STATE}/${job}.yaml" &&
    grep -q -- "--warmup=10s" "${FAKE_KUBECTL_STATE}/${job}.yaml" && grep -q -- "--spin-ms=100" "${FAKE_KUBECTL_STATE}/${job}.yaml"; then
    ok "the created Job carries the run's rps, spin, duration and warm-up"
  else
    fail "created Job args wrong: $(grep -- '- --' "${FAKE_KUBECTL_STATE}/${job}.yaml")"
  fi
  if grep -qx "$job" "${FAKE_KUBECTL_STATE}/deleted" && [[ ! -s "${FAKE_KUBECTL_STATE}/jobs" ]]; then
    ok "the Job was deleted after the fetch"
  else
    fail "Job ${job} not deleted"
  fi
  if grep -q "exec" "$FAKE_KUBECTL_LOG"; then fail "cluster backend used kubectl exec"; fi
else
  fail "cluster backend run: $(tail -n 5 "${TMP}/cm.out")"
fi
# A failed driver Job: the run fails and its Job is still deleted.
rm -rf "$FAKE_KUBECTL_STATE"
if env KUBECTL="$FAKE" FAKE_KUBECTL_JOB=fail "${CLUSTER_SWEEP[@]}" --sweep-id failed \
  --prom-url "http://127.0.0.1:${PROMP}" >"${TMP}/cm2.out" 2>&1; then
  fail "the cluster sweep exited 0 for a failed driver Job"
else
  if grep -q "failed" "${TMP}/cm2.out" && [[ -s "${FAKE_KUBECTL_STATE}/deleted" ]] &&
    [[ ! -e "${TMP}/results/failed/results-10rps-100ms.csv" ]]; then
    ok "a failed driver Job fails the run, is deleted, and leaves no CSV"
  else
    fail "failed-Job handling: $(tail -n 5 "${TMP}/cm2.out")"
  fi
fi

# The whole sweep loop in cluster mode: two runs.
rm -rf "$FAKE_KUBECTL_STATE"
: >"$FAKE_KUBECTL_LOG"
if [[ -x scripts/run_experiments.sh ]]; then
  if env KUBECTL="$FAKE" scripts/run_experiments.sh --mode cluster --rps-start 10 --rps-step 10 --rps-max 20 \
    --spin-start 100 --spin-max 100 --duration 60s --warmup 10 --no-analyze --outdir "${TMP}/results" \
    --sweep-id t1 --prom-url "http://127.0.0.1:${PROMP}" >"${TMP}/sweep.out" 2>&1; then
    missing=""
    for f in results-10rps-100ms.csv summary-10rps-100ms.json prometheus-10rps-100ms.json \
      results-20rps-100ms.csv summary-20rps-100ms.json prometheus-20rps-100ms.json; do
      [[ -s "${TMP}/results/t1/${f}" ]] || missing+=" ${f}"
    done
    creates="$(grep -c '^create ' "$FAKE_KUBECTL_LOG" || true)"
    if [[ -z "$missing" && "$creates" -eq 2 && "$(wc -l <"${FAKE_KUBECTL_STATE}/deleted")" -eq 2 ]]; then
      ok "run_experiments.sh --mode cluster: 2 Jobs created and deleted, CSV/summary/Prometheus files per run"
    else
      fail "sweep: missing files:${missing}; ${creates} Jobs created; $(tail -n 3 "${TMP}/sweep.out")"
    fi
  else
    fail "run_experiments.sh --mode cluster: $(tail -n 5 "${TMP}/sweep.out")"
  fi
else
  echo "skip run_experiments.sh sweep test: scripts/run_experiments.sh not present"
fi

echo "${FAILS} failure(s)"
((FAILS == 0))
