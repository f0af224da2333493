#!/usr/bin/python3
"""Run our binaries with exactly the args and env each manifest gives them.

For every container in the given (rendered) manifests whose image is ours,
the matching binary is started with `--check-config` (parse flags and env,
print the resolved config, exit 0; exit 2 on bad input) in an environment
built like the kubelet would build it:
  - env `value`s as written; `valueFrom.fieldRef` resolved to plausible
    values (metadata.name -> a pod name, the completion-index annotation -> 0);
  - Knative Services additionally get what Knative injects: PORT (the
    container port), K_SERVICE, K_CONFIGURATION, K_REVISION;
  - `$(VAR)` references in args expanded from that env, as the kubelet does.
The resolved config must contain the ports/values the manifest intends, and
the same command with one bad flag appended must exit 2 (so the check can fail).

Usage: check_config.py [--worker BIN] [--driver BIN] RENDERED.yaml...
"""
import argparse
import re
import subprocess
import sys

import yaml

IMAGES = {"worker": "knbench/worker", "driver": "knbench/load-driver"}
# A flag each binary must reject (exit 2) when appended to valid args.
BAD_FLAG = {"worker": "--grpc-port=70000", "driver": "--rps=-5"}


def field_ref_value(path, pod_name):
    if path == "metadata.name":
        return pod_name
    if path == "metadata.namespace":
        return "default"
    if "job-completion-index" in path:
        return "0"
    if path == "status.podIP":
        return "127.0.0.1"
    raise ValueError(f"unsupported fieldRef {path}")


def containers_of(obj):
    kind = obj.get("kind")
    api = obj.get("apiVersion", "")
    if kind == "Service" and api.startswith("serving.knative.dev/"):
        spec = obj["spec"]["template"]["spec"]
        return "knative", spec.get("containers", [])
    if kind in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
        return "pod", obj["spec"]["template"]["spec"].get("containers", [])
    if kind == "Pod":
        return "pod", obj["spec"].get("containers", [])
    return None, []


def build_env(obj, flavor, container, pod_name):
    env = {"PATH": "/usr/bin:/bin"}
    if flavor == "knative":
        ports = container.get("ports", [])
        env["PORT"] = str(ports[0]["containerPort"]) if ports else "8080"
        name = obj["metadata"]["name"]
        env.update({"K_SERVICE": name, "K_CONFIGURATION": name, "K_REVISION": f"{name}-00001"})
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif "valueFrom" in e and "fieldRef" in e["valueFrom"]:
            env[e["name"]] = field_ref_value(e["valueFrom"]["fieldRef"]["fieldPath"], pod_name)
        else:
            raise ValueError(f"unsupported env source for {e['name']}")
    return env


def expand(arg, env):
    # Kubernetes: $(VAR) expands when VAR is defined, $$ escapes.
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), arg)


def expectations(which, flavor, container, args, pod_name):
    """Strings the resolved config must contain."""
    want = []
    if which == "worker":
        # The port Knative routes to (the container port, also injected as
        # PORT) must be the port the worker listens on.
        port = container["ports"][0]["containerPort"] if container.get("ports") else None
        if port:
            want.append(f"grpc_port={port}")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("METRICS_PORT"):
            want.append(f"metrics_port={env['METRICS_PORT']}")
        if "POD_NAME" in env:
            want.append(f"instance={pod_name}")
        # Tracing flags (deploy/components/tracing), after $(VAR) expansion.
        for a in args:
            m = re.match(r"--(otlp-endpoint|trace-sample-rate)=(.+)$", a)
            if m:
                want.append(f"{m.group(1).replace('-', '_')}={m.group(2)}")
    else:
        # load_driver prints "key<spaces>value" lines; --rps shows in the schedule.
        keys = {"target": "target", "spin-ms": "spin_ms", "metrics-port": "metrics_port",
                "out": "out", "linger": None, "warmup": None,
                "otlp-endpoint": "otlp_endpoint", "trace-sample-rate": "trace_sample_rate"}
        for a in args:
            m = re.match(r"--([a-z-]+)=(.+)$", a)
            if not m:
                continue
            flag, value = m.groups()
            if flag == "rps":
                want.append(re.compile(rf"^schedule\s+{re.escape(value)}@", re.M))
            elif keys.get(flag):
                want.append(re.compile(rf"^{keys[flag]}\s+{re.escape(value)}$", re.M))
    return want


def run(cmd, env):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help="worker binary")
    ap.add_argument("--driver", help="load_driver binary")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    bins = {"worker": a.worker, "driver": a.driver}
    checked, failures = 0, []
    for path in a.files:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for obj in docs:
            flavor, containers = containers_of(obj)
            for c in containers:
                which = next((k for k, img in IMAGES.items() if c.get("image", "").startswith(img)),
                             None)
                if which is None or not bins[which]:
                    continue
                where = f"{path}: {obj['kind']} {obj['metadata']['name']} container {c['name']}"
                pod_name = f"{obj['metadata']['name']}-abc12"
                try:
                    env = build_env(obj, flavor, c, pod_name)
                except ValueError as e:
                    failures.append(f"{where}: {e}")
                    continue
                args = [expand(x, env) for x in c.get("args", [])]
                if c.get("command"):
                    failures.append(f"{where}: overrides the image's command; not checked")
                    continue
                cmd = [bins[which]] + args + ["--check-config"]
                r = run(cmd, env)
                checked += 1
                shown = " ".join(args) or "(no args)"
                if r.returncode != 0:
                    failures.append(f"{where}: exit {r.returncode} for {shown}\n{r.stderr.strip()}")
                    continue
                out = r.stdout + r.stderr
                missing = [getattr(w, "pattern", w)
                           for w in expectations(which, flavor, c, args, pod_name)
                           if not (w.search(out) if hasattr(w, "search") else w in out)]
                if missing:
                    failures.append(f"{where}: resolved config lacks {missing}:\n{out.strip()}")
                    continue
                bad = run([bins[which]] + args + [BAD_FLAG[which], "--check-config"], env)
                if bad.returncode != 2:
                    failures.append(f"{where}: {BAD_FLAG[which]} was not rejected with exit 2 "
                                    f"(got {bad.returncode}); the check cannot fail")
                    continue
                print(f"ok {where}: {shown}")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    if checked == 0:
        print("FAIL no container of ours was checked", file=sys.stderr)
        return 1
    print(f"{checked} containers checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
