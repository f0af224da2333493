#!/usr/bin/env bash
# Deploy the benchmark on a Knative cluster: monitoring stack (optional),
# Knative's Prometheus export, the worker + monitors + dashboard (kustomize),
# and optionally one driver run. See docs/deploy.md.
set -euo pipefail

PROG="$(basename "$0")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBECTL="${KUBECTL:-kubectl}"

usage() {
  cat <<'EOF'
Usage: scripts/deploy_all.sh [options]

Steps, in order:
  1. (--install-monitoring) helm upgrade --install kube-prometheus-stack with
     deploy/cluster/kube-prometheus-stack-values.yaml; otherwise only check
     that its ServiceMonitor/PodMonitor CRDs exist.
  2. Patch knative-serving/config-observability with
     deploy/cluster/config-observability-patch.yaml (metrics-protocol:
     prometheus; needed by Knative >= 1.19, ignored by older ones).
  3. kubectl apply -k deploy/ (or deploy/overlays/hpa with --hpa): the worker
     Knative Service, worker-metrics Service, ServiceMonitors, PodMonitor and
     the Grafana dashboard ConfigMap.
  4. Wait (bounded) until the Knative Service worker is Ready.
  5. (--run-driver) kubectl apply -k deploy/driver: one 12-minute driver run.

Options:
  --install-monitoring    install/upgrade kube-prometheus-stack with Helm
                          (release RELEASE, default monitoring, namespace monitoring)
  --hpa                   deploy the HPA-class worker (deploy/overlays/hpa)
  --skip-observability    do not patch config-observability
  --run-driver            also start the single driver Job (deploy/driver)
  --timeout S             seconds to wait for the worker (default 300)
  --dry-run               render and validate server-side (kubectl apply
                          --dry-run=server), change nothing
  -h, --help              this help
Environment: KUBECTL (default kubectl), RELEASE (default monitoring).
EOF
}

KNBENCH_LOG_NAME="$PROG"
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"
step() { echo "==> $*"; }

INSTALL_MON=0
HPA=0
PATCH_OBS=1
RUN_DRIVER=0
TIMEOUT=300
DRY_RUN=0
RELEASE="${RELEASE:-monitoring}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --install-monitoring) INSTALL_MON=1; shift ;;
    --hpa) HPA=1; shift ;;
    --skip-observability) PATCH_OBS=0; shift ;;
    --run-driver) RUN_DRIVER=1; shift ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; TIMEOUT="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, got '${TIMEOUT}'"

command -v "$KUBECTL" >/dev/null 2>&1 || die "kubectl not found (install it or set KUBECTL)"
"$KUBECTL" version --request-timeout=10s >/dev/null 2>&1 ||
  die "cannot reach a Kubernetes cluster (check KUBECONFIG / current context: $("$KUBECTL" config current-context 2>&1 | head -n 1))"
"$KUBECTL" get crd services.serving.knative.dev >/dev/null 2>&1 ||
  die "Knative Serving is not installed (CRD services.serving.knative.dev missing); see docs/deploy.md"

dry=()
((DRY_RUN)) && dry=(--dry-run=server)

if ((INSTALL_MON)); then
  command -v helm >/dev/null 2>&1 || die "helm not found; install Helm or drop --install-monitoring"
  step "kube-prometheus-stack (release ${RELEASE}, namespace monitoring)"
  if ((DRY_RUN)); then
    echo "(dry run) helm upgrade --install ${RELEASE} prometheus-community/kube-prometheus-stack ..."
  else
    helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null 2>&1 || true
    helm repo update prometheus-community >/dev/null
    helm upgrade --install "$RELEASE" prometheus-community/kube-prometheus-stack \
      --namespace monitoring --create-namespace \
      --values "${ROOT}/deploy/cluster/kube-prometheus-stack-values.yaml" --wait --timeout 10m
  fi
fi
for crd in servicemonitors.monitoring.coreos.com podmonitors.monitoring.coreos.com; do
  "$KUBECTL" get crd "$crd" >/dev/null 2>&1 ||
    die "CRD ${crd} missing: install kube-prometheus-stack first (--install-monitoring, docs/deploy.md)"
done

if ((PATCH_OBS)); then
  step "Knative config-observability: metrics-protocol=prometheus"
  if "$KUBECTL" get configmap config-observability -n knative-serving >/dev/null 2>&1; then
    "$KUBECTL" patch configmap config-observability -n knative-serving --type merge \
      --patch-file "${ROOT}/deploy/cluster/config-observability-patch.yaml" "${dry[@]}"
  else
    echo "warning: knative-serving/config-observability not found; autoscaler metrics may be missing" >&2
  fi
fi

target="${ROOT}/deploy"
((HPA)) && target="${ROOT}/deploy/overlays/hpa"
step "kubectl apply -k ${target#"${ROOT}"/}"
"$KUBECTL" apply -k "$target" "${dry[@]}"

if ((DRY_RUN)); then
  echo "dry run: nothing was changed"
  exit 0
fi

step "waiting up to ${TIMEOUT}s for ksvc/worker to be Ready"
if ! "$KUBECTL" wait ksvc/worker -n default --for=condition=Ready --timeout="${TIMEOUT}s"; then
  "$KUBECTL" get ksvc worker -n default -o wide >&2 || true
  "$KUBECTL" get revisions -n default -l serving.knative.dev/service=worker >&2 || true
  die "the worker did not become Ready (image pull? see kubectl describe revision)"
fi
"$KUBECTL" get ksvc worker -n default

if ((RUN_DRIVER)); then
  step "kubectl apply -k deploy/driver (one run; results via the pod proxy, see docs/deploy.md)"
  "$KUBECTL" apply -k "${ROOT}/deploy/driver"
fi
echo "done. Dashboards: scripts/port_forward.sh; a sweep: scripts/run_experiments.sh --mode cluster"
