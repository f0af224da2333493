#!/usr/bin/python3
"""Render every kustomization in deploy/ with `kubectl kustomize`, fill the
sweep templates with the same code cluster mode uses
(tools/knbench_sweep/manifests.py), write the results to OUTDIR
(input of the schema and --check-config tests) and check what was rendered:

- each kustomization renders and holds exactly the expected objects;
- every image of ours is rewritten by deploy/components/images (name:tag),
  and that component is the only place with an `images:` list;
- the HPA overlay switches the class/metric and keeps everything else;
- the dashboard ConfigMap carries the dashboard JSON byte for byte;
- no {{PLACEHOLDER}} survives in a filled template, and the placeholder
  filler refuses bad values;
- the tracing component and its overlays (tracing_checks.py).

Usage: render.py OUTDIR [--kubectl kubectl]
"""
import argparse
import json
import os
import re
import subprocess
import sys

import yaml

import tracing_checks

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.dirname(HERE)
ROOT = os.path.dirname(DEPLOY)

SAMPLE = tracing_checks.SAMPLE
BASE_OBJECTS = {("ConfigMap", "monitoring/knbench-dashboard"), ("Service", "default/worker"),
                ("Service", "default/worker-metrics"), ("PodMonitor", "monitoring/load-driver"),
                ("ServiceMonitor", "monitoring/worker"),
                ("ServiceMonitor", "monitoring/knative-autoscaler")}
TARGETS = {
    # output name: (kustomization dir, placeholders, expected (kind, namespace/name))
    "base": (".", None, BASE_OBJECTS),
    "hpa": ("overlays/hpa", None, None),  # same objects as base
    "driver": ("driver", None, {("Job", "default/load-driver")}),
    "sweep": ("sweep", SAMPLE + ["RPS=10"], {tracing_checks.SWEEP_JOB}),
    "sweep-parallel": ("sweep-parallel", SAMPLE + ["PODS=4", "RPS_PER_POD=2.5"],
                       {tracing_checks.SWEEP_PAR_JOB}),
}


def render_template(kdir, out, placeholders, kubectl):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "knbench_sweep.manifests", "--kubectl", kubectl,
                           kdir, out] + placeholders, env=env, capture_output=True, text=True,
                          timeout=120)


def images_component():
    with open(os.path.join(DEPLOY, "components", "images", "kustomization.yaml")) as f:
        comp = yaml.safe_load(f)
    return {i["name"]: f"{i.get('newName', i['name'])}:{i.get('newTag', 'latest')}"
            for i in comp["images"]}


def render_all(targets, outdir, kubectl):
    """Render every target into OUTDIR/<name>.yaml: ({name: objects}, problems)."""
    problems, rendered = [], {}
    for name, (kdir, placeholders, expected) in targets.items():
        out = os.path.join(outdir, f"{name}.yaml")
        path = os.path.join(DEPLOY, kdir)
        if placeholders is None:
            r = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True,
                               timeout=120)
            if r.returncode == 0:
                with open(out, "w") as f:
                    f.write(r.stdout)
        else:
            r = render_template(path, out, placeholders, kubectl)
        if r.returncode != 0:
            problems.append(f"{kdir}: render failed: {r.stderr.strip()}")
            continue
        with open(out) as f:
            text = f.read()
        left = re.findall(r"\{\{[A-Z_]+\}\}", text)  # ours are upper case; {{pod}} is Grafana's
        if left:
            problems.append(f"{kdir}: placeholders left: {sorted(set(left))}")
        docs = [d for d in yaml.safe_load_all(text) if d]
        rendered[name] = docs
        got = {(d["kind"], f"{d['metadata'].get('namespace')}/{d['metadata']['name']}") for d in docs}
        if expected is not None and got != expected:
            problems.append(f"{kdir}: objects {sorted(got)} != expected {sorted(expected)}")
        print(f"rendered {kdir} -> {out}: {len(docs)} objects")
    return rendered, problems


def image_problems(rendered):
    """Every container of ours uses the component's name:tag."""
    problems = []
    want_images = images_component()
    for name, docs in rendered.items():
        for d in docs:
            spec = d.get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                if c["image"] not in want_images.values():
                    problems.append(f"{name}: container {c['name']} image {c['image']} is not one of "
                                    f"{sorted(want_images.values())} (components/images)")
    for dirpath, dirnames, files in os.walk(DEPLOY):
        dirnames[:] = [x for x in dirnames if x != "node_modules"]
        if "kustomization.yaml" in files and os.path.relpath(dirpath, DEPLOY) != "components/images":
            with open(os.path.join(dirpath, "kustomization.yaml")) as f:
                if "images" in (yaml.safe_load(f) or {}):
                    problems.append(f"{dirpath}/kustomization.yaml sets images: (only components/images may)")
    return problems


def ksvc(docs):
    return next(d for d in docs if d["kind"] == "Service" and "serving" in d["apiVersion"])


def hpa_problems(base, hpa):
    """HPA overlay: only the autoscaling annotations differ from the base."""
    problems = []
    kb, kh = ksvc(base), ksvc(hpa)
    ab = kb["spec"]["template"]["metadata"]["annotations"]
    ah = kh["spec"]["template"]["metadata"]["annotations"]
    if ab.get("autoscaling.knative.dev/class") != "kpa.autoscaling.knative.dev":
        problems.append("base worker is not KPA")
    if ah.get("autoscaling.knative.dev/class") != "hpa.autoscaling.knative.dev" or \
            ah.get("autoscaling.knative.dev/metric") != "cpu":
        problems.append(f"overlays/hpa does not switch to class hpa, metric cpu: {ah}")
    strip = lambda k: {**k, "spec": {**k["spec"], "template": {**k["spec"]["template"],  # noqa: E731
                       "metadata": {**k["spec"]["template"]["metadata"], "annotations": None}}}}
    if strip(kb) != strip(kh):
        problems.append("overlays/hpa changes more than the autoscaling annotations")
    others = lambda docs: [d for d in docs if d is not None and not (  # noqa: E731
        d["kind"] == "Service" and "serving" in d["apiVersion"])]
    if others(base) != others(hpa):
        problems.append("overlays/hpa differs from the base outside the worker Service")
    return problems


def dashboard_problems(base):
    """The dashboard ConfigMap holds the one source, knbench.json."""
    problems = []
    cm = next(d for d in base if d["kind"] == "ConfigMap")
    with open(os.path.join(DEPLOY, "base", "monitoring", "dashboards", "knbench.json")) as f:
        src = f.read()
    if cm["data"].get("knbench.json") != src:
        problems.append("dashboard ConfigMap does not hold knbench.json verbatim")
    if cm["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
        problems.append("dashboard ConfigMap lacks label grafana_dashboard: \"1\"")
    json.loads(cm["data"]["knbench.json"])
    return problems


def filler_problems(outdir, kubectl):
    """The filler must refuse values that could break the YAML or sed."""
    problems = []
    bad_out = os.path.join(outdir, "bad.yaml")
    for bad in ("NAME=a b", "NAME=a/b", "RPS=1;2", "lower=1"):
        r = render_template(os.path.join(DEPLOY, "sweep"), bad_out, SAMPLE + ["RPS=1", bad], kubectl)
        if r.returncode == 0:
            problems.append(f"the template renderer accepted bad placeholder value {bad!r}")
    r = render_template(os.path.join(DEPLOY, "sweep"), bad_out, ["NAME=x", "RPS=1"], kubectl)
    if r.returncode == 0 or "placeholders left unfilled" not in r.stderr:
        problems.append("the template renderer accepted a template with unfilled placeholders")
    if os.path.exists(bad_out):
        os.unlink(bad_out)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--kubectl", default="kubectl")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    targets = {**TARGETS, **tracing_checks.targets(a.outdir, BASE_OBJECTS)}
    rendered, problems = render_all(targets, a.outdir, a.kubectl)
    problems += image_problems(rendered)
    if "base" in rendered and "hpa" in rendered:
        problems += hpa_problems(rendered["base"], rendered["hpa"])
    if "base" in rendered:
        problems += dashboard_problems(rendered["base"])
    # Parallel template: integer placeholders became integers.
    if "sweep-parallel" in rendered:
        job = rendered["sweep-parallel"][0]
        if job["spec"].get("completions") != 4 or job["spec"].get("parallelism") != 4:
            problems.append(f"sweep-parallel: completions/parallelism not 4: {job['spec']}")
    problems += filler_problems(a.outdir, a.kubectl)
    problems += tracing_checks.check(rendered)

    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    print(f"{len(rendered)} kustomizations rendered, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
