#!/usr/bin/python3
"""Check the files applied outside kustomize (deploy/cluster/):

- kube-prometheus-stack values: Prometheus selects every ServiceMonitor and
  PodMonitor (both *SelectorNilUsesHelmValues false), Grafana's dashboard
  sidecar is on and looks for the label our dashboard ConfigMap carries
  (label grafana_dashboard, value "1") in the namespace it lives in;
- config-observability patch: metrics-protocol: prometheus for Knative >= 1.19,
  on the ConfigMap Knative installs (knative-serving/config-observability).
Schema validation of the patch is done by deploy.schema.
"""
import os
import sys

import yaml

DEPLOY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(rel):
    with open(os.path.join(DEPLOY, rel), encoding="utf-8") as f:
        return yaml.safe_load(f)


def get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def main():
    problems = []
    v = load("cluster/kube-prometheus-stack-values.yaml")
    for key in ("serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues"):
        if get(v, f"prometheus.prometheusSpec.{key}") is not False:
            problems.append(f"values: prometheus.prometheusSpec.{key} must be false (boolean)")
    dash = get(v, "grafana.sidecar.dashboards") or {}
    if dash.get("enabled") is not True:
        problems.append("values: grafana.sidecar.dashboards.enabled must be true")
    # The dashboard ConfigMap's label and namespace, from the base.
    base = load("base/kustomization.yaml")
    gen = next(g for g in base["configMapGenerator"] if g["name"] == "knbench-dashboard")
    labels = gen["options"]["labels"]
    if dash.get("label", "grafana_dashboard") not in labels:
        problems.append(f"values: sidecar label {dash.get('label')} is not on the dashboard ConfigMap {labels}")
    elif str(dash.get("labelValue", "1")) != labels[dash.get("label", "grafana_dashboard")]:
        problems.append("values: sidecar labelValue differs from the ConfigMap's label value")
    if dash.get("searchNamespace") not in ("ALL", gen.get("namespace"), None) and \
            gen.get("namespace") not in str(dash.get("searchNamespace")):
        problems.append(f"values: sidecar searchNamespace {dash.get('searchNamespace')} misses {gen.get('namespace')}")
    if dash.get("searchNamespace") is None and gen.get("namespace") != "monitoring":
        problems.append("values: without searchNamespace the dashboard must live in monitoring")

    cm = load("cluster/config-observability-patch.yaml")
    if (cm.get("kind"), get(cm, "metadata.namespace"), get(cm, "metadata.name")) != \
            ("ConfigMap", "knative-serving", "config-observability"):
        problems.append("config-observability patch does not target knative-serving/config-observability")
    if get(cm, "data.metrics-protocol") != "prometheus":
        problems.append("config-observability patch must set data.metrics-protocol: prometheus")
    if set((cm.get("data") or {})) - {"metrics-protocol"}:
        problems.append("config-observability patch changes more than metrics-protocol")

    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    print(f"cluster files: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
