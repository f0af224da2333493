"""Checks of deploy/components/tracing and the overlays that use it, for
render.py:

- the collector endpoint (and its host) is written in exactly one source line
  under deploy/, the component's knbench-tracing literal;
- after rendering it reaches every consumer: the worker's and the driver
  Jobs' env, their --otlp-endpoint args once the kubelet's $(VAR) expansion
  is applied, Knative's config-observability (>= 1.19) and, as the Zipkin URL
  on the same host, config-tracing (<= 1.18); the sample rate likewise;
- the overlays change nothing but those env entries and args (the worker
  overlay otherwise equals the base, the driver overlays their plain Jobs);
- the local-config source ConfigMap and the placeholders never leave kustomize.
The sweep templates are rendered with the component added the way
docs/deploy.md#tracing tells a user to add it.
"""
import copy
import os
from urllib.parse import urlsplit

import yaml

from check_config import expand

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.dirname(HERE)
COMPONENT = os.path.join(DEPLOY, "components", "tracing", "kustomization.yaml")
PLACEHOLDER = "set-by-components-tracing"
SAMPLE = ["NAME=10rps-100ms-120000", "SPIN=100", "DURATION=720s", "WARMUP=120s", "LINGER=30m"]
SWEEP_JOB = ("Job", "default/load-driver-10rps-100ms-120000")
SWEEP_PAR_JOB = ("Job", "default/load-driver-par-10rps-100ms-120000")
# Rendered output -> the rendering without tracing it must equal otherwise.
PLAIN = {"tracing": "base", "tracing-driver": "driver", "tracing-sweep": "sweep",
         "tracing-sweep-parallel": "sweep-parallel"}


def values():
    """The component's literals: {'otlp-endpoint': ..., 'sample-rate': ...}."""
    with open(COMPONENT, encoding="utf-8") as f:
        comp = yaml.safe_load(f)
    gen = next(g for g in comp["configMapGenerator"] if g["name"] == "knbench-tracing")
    return dict(lit.split("=", 1) for lit in gen["literals"])


def targets(outdir, base_objects):
    """render.py TARGETS entries for the tracing overlays. The sweep ones are
    kustomizations written into OUTDIR: deploy/sweep(-parallel) plus the
    component."""
    found = {}
    for name, tmpl in (("tracing-sweep", "sweep"), ("tracing-sweep-parallel", "sweep-parallel")):
        kdir = os.path.join(outdir, name)
        os.makedirs(kdir, exist_ok=True)
        rel = lambda p: os.path.relpath(p, kdir)  # noqa: E731
        with open(os.path.join(kdir, "kustomization.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                            "resources": [rel(os.path.join(DEPLOY, tmpl))],
                            "components": [rel(os.path.join(DEPLOY, "components", "tracing"))]}, f)
        found[name] = kdir
    return {
        "tracing": ("overlays/tracing", None, base_objects),
        "tracing-driver": ("overlays/tracing/driver", None, {("Job", "default/load-driver")}),
        "tracing-knative": ("overlays/tracing/knative", None,
                            {("ConfigMap", "knative-serving/config-observability"),
                             ("ConfigMap", "knative-serving/config-tracing")}),
        "tracing-sweep": (found["tracing-sweep"], SAMPLE + ["RPS=10"], {SWEEP_JOB}),
        "tracing-sweep-parallel": (found["tracing-sweep-parallel"],
                                   SAMPLE + ["PODS=4", "RPS_PER_POD=2.5"], {SWEEP_PAR_JOB}),
    }


def source_lines(needle):
    """(file, line) of every line under deploy/ (tests aside) holding needle."""
    hits = []
    for dirpath, dirnames, files in os.walk(DEPLOY):
        dirnames[:] = [d for d in dirnames if d not in ("node_modules", "tests")]
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, encoding="utf-8") as f:
                    hits += [(os.path.relpath(path, DEPLOY), n) for n, line in enumerate(f, 1)
                             if needle in line]
            except UnicodeDecodeError:
                continue
    return hits


def ours(obj):
    """The pod template's first container when it is the worker's or the driver's."""
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    for c in spec.get("containers", []):
        if c.get("name") in ("worker", "load-driver"):
            return c
    return None


def consumer_problems(where, c, want_env, want_args):
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    problems = [f"{where}: env {k}={env.get(k)!r}, expected {v!r}"
                for k, v in want_env.items() if env.get(k) != v]
    expanded = [expand(a, env) for a in c.get("args", [])]
    problems += [f"{where}: no arg {a} after $(VAR) expansion (args {expanded})"
                 for a in want_args if a not in expanded]
    return problems


def without_tracing(obj):
    """obj minus what the component adds to a container (its env and args)."""
    obj = copy.deepcopy(obj)
    c = ours(obj)
    if c is not None:
        c["env"] = [e for e in c.get("env", []) if e["name"] not in ("OTLP_ENDPOINT", "TRACE_SAMPLE_RATE")]
        c["args"] = [a for a in c.get("args", []) if not a.startswith(("--otlp-endpoint=", "--trace-sample-rate="))]
        if not c["args"]:
            del c["args"]
    return obj


def knative_problems(docs, endpoint, rate):
    host = urlsplit(endpoint).hostname
    want = {
        "config-observability": {"tracing-protocol": "http/protobuf", "tracing-endpoint": endpoint,
                                 "tracing-sampling-rate": rate},
        "config-tracing": {"backend": "zipkin", "zipkin-endpoint": f"http://{host}:9411/api/v2/spans",
                           "sample-rate": rate},
    }
    got = {d["metadata"]["name"]: d.get("data") for d in docs}
    return [f"overlays/tracing/knative: {name} data {got.get(name)} != {data}"
            for name, data in want.items() if got.get(name) != data]


def check(rendered):
    """Problems (strings) with the rendered tracing outputs."""
    v = values()
    endpoint, rate = v["otlp-endpoint"], v["sample-rate"]
    problems = []
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
        problems.append(f"components/tracing: endpoint {endpoint} is not scheme://host:port/path")
    if not 0 < float(rate) <= 1:
        problems.append(f"components/tracing: sample-rate {rate} not in (0, 1] "
                        "(Knative >= 1.19 samples nothing at 0, not even a traced caller)")
    for needle in (endpoint, parts.hostname or endpoint):
        hits = source_lines(needle)
        if len(hits) != 1:
            problems.append(f"{needle!r} is written in {len(hits)} source lines, not one: {hits}")
    for name, docs in rendered.items():
        text = yaml.safe_dump_all(docs)
        if PLACEHOLDER in text or "knbench-tracing" in text:
            problems.append(f"{name}: the tracing source or a placeholder left kustomize")
        if name not in PLAIN:
            continue
        consumers = [(obj, ours(obj)) for obj in docs if ours(obj) is not None]
        if not consumers:
            problems.append(f"{name}: no worker or driver container to trace")
        for obj, c in consumers:
            where = f"{name}: {obj['kind']} {obj['metadata']['name']}"
            if c["name"] == "worker":
                problems += consumer_problems(where, c, {"OTLP_ENDPOINT": endpoint},
                                              [f"--otlp-endpoint={endpoint}"])
            else:
                problems += consumer_problems(
                    where, c, {"OTLP_ENDPOINT": endpoint, "TRACE_SAMPLE_RATE": rate},
                    [f"--otlp-endpoint={endpoint}", f"--trace-sample-rate={rate}"])
        if [without_tracing(d) for d in docs] != rendered.get(PLAIN[name]):
            problems.append(f"{name}: differs from {PLAIN[name]} beyond the tracing env and args")
    if "tracing-knative" in rendered:
        problems += knative_problems(rendered["tracing-knative"], endpoint, rate)
    if not all(k in rendered for k in list(PLAIN) + ["tracing-knative"]):
        problems.append(f"tracing outputs missing: rendered {sorted(rendered)}")
    return problems
