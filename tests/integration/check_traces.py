#!/usr/bin/python3
"""Checks the traces of a finished local sweep run with --trace-sample-rate 1: runs.json
names each run's two trace files; every sent request has one driver client span (its
knbench.seq as in the CSV); every successful one a worker server span under it (its
child, or through local serving's activator and queue-proxy spans), inside it in time,
and a spin span under that, all of one trace id; no pod span without its driver span;
every line valid OTLP/JSON (the tracing tests' receiver fixture says what that is); the report links both files and shows the slowest requests.
Usage: check_traces.py SWEEP_DIR"""
import csv
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tracing", "tests"))
from check_sweep import check, errors  # noqa: E402
from otlp_receiver import attribute, request_problems, spans_of  # noqa: E402


def spans(path):
    """(service.name, span) of every line of an OTLP/JSON file, each line checked as
    valid OTLP/JSON (hex ids, string times, a service.name)."""
    out = []
    with open(path) as f:
        for i, line in enumerate(f, start=1):
            doc = json.loads(line)
            problems = request_problems(doc)
            check(not problems, f"{path}:{i}: {problems[:3]}")
            out += [] if problems else list(spans_of(doc))
    return out


def pod_of(path):
    """span id -> the k8s.pod.name of its resource, for a file's spans."""
    out = {}
    with open(path) as f:
        for line in f:
            for rs in json.loads(line)["resourceSpans"]:
                pod = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}.get(
                    "k8s.pod.name", {}).get("stringValue", "")
                for ss in rs.get("scopeSpans", []):
                    out.update((s["spanId"], pod) for s in ss["spans"])
    return out


def check_clients(name, clients, pods_by_span, rows):
    """One client span per sent request: with one driver its seq is the CSV's; with
    several (fixed pods, load-driver-<i>) each driver's seqs are its own, and the merged
    CSV renumbers them."""
    sent = [r for r in rows if r["status"] != "dropped"]
    keys = {(pods_by_span[c["spanId"]], int(attribute(c, "knbench.seq"))) for c in clients}
    check(len(keys) == len(clients) == len(sent),
          f"{name}: {len(clients)} client spans ({len(keys)} distinct driver+seq) for "
          f"{len(sent)} sent requests")
    drivers = {pod for pod, _ in keys}
    if len(drivers) == 1:
        missing = {int(r["seq"]) for r in sent} - {seq for _, seq in keys}
        check(not missing, f"{name}: no client span for seq {sorted(missing)[:5]}")
    else:
        check(all(re.fullmatch(r"load-driver-[0-9]+", p) for p in drivers),
              f"{name}: drivers' k8s.pod.name {sorted(drivers)}")


def workers_under(by_parent, span_id):
    """The worker spans under a client span: its children, or (through local serving)
    the children of its activator's and queue-proxy's spans."""
    out = []
    for svc, s in by_parent.get(span_id, []):
        if svc == "worker":
            out.append(s)
        elif svc == "local-serving":
            out += workers_under(by_parent, s["spanId"])
    return out


def check_run(d, rec):
    name, files = rec["name"], rec["files"]
    if not check({"traces", "pod_traces"} <= set(files), f"{name}: runs.json files {files}"):
        return
    driver = spans(os.path.join(d, files["traces"]))
    pods = spans(os.path.join(d, files["pod_traces"]))
    with open(os.path.join(d, files["csv"]), newline="") as f:
        rows = list(csv.DictReader(f))
    clients = [s for svc, s in driver if svc == "load_driver"]
    check_clients(name, clients, pod_of(os.path.join(d, files["traces"])), rows)
    by_parent = {}
    for svc, s in pods:
        by_parent.setdefault(s.get("parentSpanId"), []).append((svc, s))
    ids = {s["spanId"] for _, s in driver} | {s["spanId"] for _, s in pods}
    orphans = [s["name"] for _, s in pods if s.get("parentSpanId") not in ids]
    check(not orphans, f"{name}: {len(orphans)} pod spans without their parent")
    ok = [c for c in clients if attribute(c, "rpc.grpc.status_code") == "0"]
    check(len(ok) == sum(r["status"] == "success" for r in rows),
          f"{name}: {len(ok)} client spans with status 0 for the CSV's successes")
    for c in ok:
        seq = attribute(c, "knbench.seq")
        server = workers_under(by_parent, c["spanId"])
        if not check(len(server) == 1, f"{name}: seq {seq} has {len(server)} worker spans"):
            continue
        w = server[0]
        spin = [s for _, s in by_parent.get(w["spanId"], []) if s["name"] == "spin"]
        check(len(spin) == 1 and spin[0]["traceId"] == w["traceId"] == c["traceId"],
              f"{name}: seq {seq}: no spin span in its trace under the worker's")
        check(int(c["startTimeUnixNano"]) <= int(w["startTimeUnixNano"]) <=
              int(w["endTimeUnixNano"]) <= int(c["endTimeUnixNano"]),
              f"{name}: seq {seq}: the worker's span is not inside the driver's")


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "runs.json")) as f:
        runs = json.load(f)["runs"]
    check(runs, "runs.json has no run")
    for rec in runs:
        check_run(d, rec)
    with open(os.path.join(d, "report.html")) as f:
        html = f.read()
    for rec in runs:
        for role in ("traces", "pod_traces"):
            check(f"href='{rec['files'].get(role)}'" in html,
                  f"report.html does not link {rec['files'].get(role)}")
    check(html.count("slowest traced requests by the driver's client span") == len(runs),
          "report.html does not show every run's slowest traced requests")
    if errors:
        for e in errors:
            print("FAIL:", e, file=sys.stderr)
        sys.exit(1)
    print(f"ok: traces of {len(runs)} runs checked in {d}")


if __name__ == "__main__":
    main()
