#!/usr/bin/python3
"""Checks a finished local sweep directory against what was asked for.

With local serving (the default) also: Knative's autoscaler series are there, and
in every run the pods go from 0 up and back to 0; the report says in words that
local serving ran. Used by local_sweep_test.sh; every check prints what it found
when it fails.
"""
import argparse
import csv
import html as htmllib
import json
import os
import re
import sys

HEADER = ("timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,"
          "intended_latency_us,lag_us,grpc_code,pod,server_spin_us,"
          "activator_wait_us,queue_wait_us,phase,warmup")
# collect_prometheus.sh series that apply in local mode (the preamble's list).
LOCAL_SERIES = (
    "worker_rps worker_p50_ms worker_p95_ms worker_p99_ms driver_rps "
    "driver_target_rps driver_achieved_rps driver_p50_ms driver_p95_ms "
    "driver_p99_ms driver_intended_p50_ms driver_intended_p95_ms driver_intended_p99_ms "
    "worker_requests_by_status driver_requests_by_status worker_inflight driver_inflight "
    "process_cpu_cores process_rss_bytes pods").split() + [
        f"run_{w}_p{q}_ms" for q in (50, 95, 99) for w in ("worker", "driver", "driver_intended")]
# Knative's autoscaler series, as local_serving exports them.
SERVING_SERIES = ("actual_pods desired_pods requested_pods not_ready_pods pending_pods "
                  "terminating_pods panic_mode stable_concurrency panic_concurrency "
                  "target_concurrency excess_burst_capacity activator_in_path "
                  "queued_requests").split()
# Series of the workers' own rates. With local serving a pod's first seconds are not
# scraped (Prometheus hands new file_sd targets to its scrapers at most every 5 s), so in a
# short run they may hold no rate at all; the driver's rates and run_worker_* do.
WORKER_RATE_SERIES = ("worker_rps worker_p50_ms worker_p95_ms worker_p99_ms "
                      "worker_requests_by_status").split()
# local_serving's pod names: <revision>-deployment-<suffix>.
SERVING_POD = re.compile(r"^worker-00001-deployment-[a-z0-9]+$")

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def values(series):
    return [float(v[1]) for s in series for v in s.get("values", [])
            if v[1] not in ("NaN", "+Inf", "-Inf")]


def check_run(d, rps, spin, a):
    name = f"{rps}rps-{spin}ms"
    csv_path = os.path.join(d, f"results-{name}.csv")
    sum_path = os.path.join(d, f"summary-{name}.json")
    prom_path = os.path.join(d, f"prometheus-{name}.json")
    for p in (csv_path, sum_path, prom_path):
        if not check(os.path.isfile(p), f"{p} missing"):
            return
    with open(csv_path, newline="") as f:
        lines = f.read().splitlines()
    check(lines[0] == HEADER, f"{name}: CSV header is {lines[0]!r}")
    rows = list(csv.DictReader(lines))
    with open(sum_path) as f:
        s = json.load(f)
    expected = rps * a.duration
    check(len(rows) == s["scheduled"],
          f"{name}: CSV has {len(rows)} rows, summary scheduled={s['scheduled']}")
    check(abs(s["scheduled"] - expected) <= 1,
          f"{name}: scheduled={s['scheduled']}, expected rps*duration={expected} (+-1)")
    check(s["success"] + s["failure"] + s["dropped"] == s["scheduled"],
          f"{name}: success+failure+dropped != scheduled in {s}")
    ok = sum(r["status"] == "success" for r in rows)
    check(ok == s["success"], f"{name}: {ok} success rows, summary says {s['success']}")
    # Loopback, a few tens of requests/s of a few ms: on a quiet machine
    # nothing fails. A shared, overloaded machine may fail a few calls; more
    # than the sweep's own threshold would have stopped it.
    failed = s["failure"] + s["dropped"]
    check(failed <= 0.10 * s["scheduled"],
          f"{name}: failures={s['failure']} dropped={s['dropped']} errors={s.get('errors')}")
    check(sum(r["status"] != "success" for r in rows) == failed,
          f"{name}: CSV failure/dropped rows disagree with the summary")
    check({r["spin_ms"] for r in rows} == {str(spin)}, f"{name}: spin_ms column differs")
    seqs = sorted(int(r["seq"]) for r in rows)
    check(seqs == list(range(1, len(rows) + 1)), f"{name}: seq is not 1..{len(rows)}")
    pods = {r["pod"] for r in rows if r["status"] == "success"}
    if a.local_pods:
        want_pods = {f"worker-{i}" for i in range(1, a.local_pods + 1)}
        check(pods == want_pods, f"{name}: pods in CSV {sorted(pods)}, expected {sorted(want_pods)}")
    else:
        check(pods and all(SERVING_POD.match(p) for p in pods),
              f"{name}: pods in CSV {sorted(pods)} are not local_serving's pods")
    warm = sum(r["warmup"] == "1" for r in rows)
    check(abs(warm - rps * a.warmup) <= 1 + (a.local_pods or 1),
          f"{name}: {warm} warm-up rows, expected about {rps * a.warmup}")
    p95 = s["latency_ms"]["p95"]
    check(p95 is not None and p95 >= spin,
          f"{name}: p95 {p95} ms is below the {spin} ms spin")
    # The live progress lines of the run: the drivers' own rate and counts, sweep ETA.
    live = re.findall(rf"^progress run \d+/\d+ rps={rps} spin={spin}ms: ([0-9.]+)s of "
                      rf"{a.duration}s, ([0-9.]+) ok/s, (\d+) ok, (\d+) failed \| sweep \S+, "
                      rf"ETA \S+$", a.log_text, re.M)
    if check(live, f"{name}: no live progress line"):
        rates = [float(r) for _, r, _, _ in live]
        # Local serving: the cold start (2 s with nothing answered, then a burst) takes
        # much of a short run, so its live rates are not the run's rate.
        if a.local_pods:
            check(0.5 * rps <= max(rates) <= 1.5 * rps,
                  f"{name}: live rates {rates} not within 50% of {rps}")
    m = re.search(rf"^run \d+/\d+ rps={rps} spin={spin}ms ok=(\d+) failed=(\d+) p95=([0-9.]+)ms$",
                  a.log_text, re.M)
    if check(m, f"{name}: no progress line in the sweep output"):
        check(int(m.group(1)) == s["success"] and int(m.group(2)) == failed,
              f"{name}: progress line {m.group(0)!r} disagrees with the summary")

    with open(prom_path) as f:
        prom = json.load(f)
    by_name = {e["name"]: e["result"] for e in prom}
    wanted = LOCAL_SERIES if a.local_pods else [
        x for x in LOCAL_SERIES + SERVING_SERIES if x not in WORKER_RATE_SERIES]
    for series in wanted:
        res = by_name.get(series)
        if not check(res is not None, f"{name}: series {series} missing from {prom_path}"):
            continue
        check(res.get("status") == "success", f"{name}: {series} status {res.get('status')}")
        vals = values(res.get("data", {}).get("result", []))
        check(vals, f"{name}: series {series} is empty")
    # A few values that must be right, not just present.
    checks = [("driver_target_rps", rps)] + ([("pods", a.local_pods)] if a.local_pods else [])
    for series, want in checks:
        vals = values(by_name.get(series, {}).get("data", {}).get("result", []))
        if series == "driver_target_rps":
            # one series per driver process; their sum is the run's rate
            per_ts = {}
            for s_ in by_name[series]["data"]["result"]:
                for t, v in s_["values"]:
                    per_ts[t] = per_ts.get(t, 0.0) + float(v)
            vals = list(per_ts.values())
        check(vals and max(vals) == want, f"{name}: max of {series} is "
              f"{max(vals) if vals else None}, expected {want}")
    # Local serving: a cold start's queue is answered in a burst (up to the run's 2 s of
    # start delay at once), so the peak may reach a few times the rate.
    top = 1.5 if a.local_pods else 3.0
    for series in ("worker_rps", "driver_rps") if a.local_pods else ("driver_rps",):
        vals = values(by_name.get(series, {}).get("data", {}).get("result", []))
        check(vals and 0.5 * rps <= max(vals) <= top * rps,
              f"{name}: peak {series} {max(vals) if vals else None} not within "
              f"[0.5, {top}] x {rps}")
    if not a.local_pods:
        check_scaling(name, by_name)


def check_scaling(name, by_name):
    """Local serving: the run starts at 0 pods, scales up, and is back at 0 at its end."""
    for series in ("actual_pods", "requested_pods"):
        res = by_name.get(series, {}).get("data", {}).get("result", [])
        vals = [float(v[1]) for s in res for v in s.get("values", [])]
        if not check(vals, f"{name}: {series} is empty"):
            continue
        # The first request asks for a pod at once (the poke): requested may be 1 at the
        # first sample, a second into the run, while no pod is ready yet.
        first_ok = vals[0] == 0 if series == "actual_pods" else vals[0] <= 1
        check(first_ok and max(vals) >= 1 and vals[-1] == 0,
              f"{name}: {series} does not go 0 -> N -> 0: {vals}")
    panic = values(by_name.get("panic_mode", {}).get("data", {}).get("result", []))
    check(set(panic) <= {0.0, 1.0}, f"{name}: panic_mode is not 0/1: {sorted(set(panic))}")
    target = values(by_name.get("target_concurrency", {}).get("data", {}).get("result", []))
    # deploy/base/worker/knative-service.yaml: target 10 at the default 70 % utilization.
    check(target and set(target) == {7.0}, f"{name}: target_concurrency {sorted(set(target))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("sweep_dir")
    ap.add_argument("--rps", type=int, nargs="+", required=True)
    ap.add_argument("--spin", type=int, nargs="+", required=True)
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--warmup", type=int, required=True)
    ap.add_argument("--local-pods", type=int, default=0,
                    help="fixed worker processes (default: local serving)")
    ap.add_argument("--log", required=True, help="the sweep's stdout+stderr")
    ap.add_argument("--no-analysis", action="store_true")
    a = ap.parse_args()
    with open(a.log) as f:
        a.log_text = f.read()
    d = a.sweep_dir
    for spin in a.spin:
        for rps in a.rps:
            check_run(d, rps, spin, a)
    conf = os.path.join(d, "sweep.conf")
    if check(os.path.isfile(conf), "sweep.conf missing"):
        keys = [line.split("=", 1)[0] for line in open(conf) if "=" in line]
        check(len(keys) == len(set(keys)), f"sweep.conf repeats keys: {sorted(keys)}")
        kv = dict(line.rstrip("\n").split("=", 1) for line in open(conf) if "=" in line)
        check(kv.get("status") == "complete", f"sweep.conf status {kv.get('status')}")
        check(kv.get("system") == ("fixed pods" if a.local_pods else "local serving"),
              f"sweep.conf system {kv.get('system')}")
        check(kv.get("prom_url", "").startswith("http://127.0.0.1:"),
              f"sweep.conf prom_url {kv.get('prom_url')}")
        if not a.local_pods:
            # The live decisions equal kpa_model's replay of local serving's own input.
            check(kv.get("replay_check", "").startswith("identical: "),
                  f"sweep.conf replay_check {kv.get('replay_check')!r}")
    if not a.no_analysis:
        report = os.path.join(d, "report.html")
        if check(os.path.isfile(report), "report.html missing"):
            html = open(report).read()
            imgs = re.findall(r'<img[^>]+src="([^"]+)"', html)
            check(imgs, "report.html shows no image")
            for img in imgs:
                p = os.path.join(d, img)
                check(os.path.isfile(p) and os.path.getsize(p) > 1000,
                      f"report.html shows {img}, which is missing or empty")
        for spin in a.spin:
            check(os.path.isfile(os.path.join(d, f"latency_vs_rps_{spin}ms.png")),
                  f"latency_vs_rps_{spin}ms.png missing")
        check(os.path.isfile(os.path.join(d, "overhead_heatmap.png")),
              "overhead_heatmap.png missing")
        summary_csv = os.path.join(d, "summary.csv")
        if check(os.path.isfile(summary_csv), "summary.csv missing"):
            with open(summary_csv, newline="") as f:
                n = len(list(csv.DictReader(f)))
            check(n == len(a.rps) * len(a.spin), f"summary.csv has {n} rows")
        check(f"report: {os.path.realpath(report)}" in a.log_text,
              "the sweep did not print where report.html is")
        if not a.local_pods and os.path.isfile(report):
            check_serving_report(d, html, a)
    if errors:
        for e in errors:
            print("FAIL:", e, file=sys.stderr)
        sys.exit(1)
    print(f"ok: {len(a.rps) * len(a.spin)} runs checked in {d}")


def check_serving_report(d, html, a):
    """The report says in words that local serving ran and what the pods did; every run
    has its autoscaling plot and the KPA model beside it."""
    m = re.search(r"<p class='words'>(.*?)</p>", html, re.S)
    words = htmllib.unescape(re.sub(r"<[^>]+>", "", m.group(1))) if m else ""
    n = len(a.rps) * len(a.spin)
    for want in ("What ran: local serving", "scaled from zero and back by Knative's KPA",
                 "max-scale 3", "stable window 6s", "Pod start delay 2s",
                 f"{n} of {n} runs started at 0 pods", f"{n} of {n} went back to 0 pods",
                 "entered panic mode", "(the cold start)",
                 "Live vs offline decisions: identical: kpa_model's replay"):
        check(want in words, f"the report's opening words lack {want!r}: {words!r}")
    for spin in a.spin:
        for rps in a.rps:
            stem = f"{rps}rps-{spin}ms"
            check(f'src="autoscaler_{stem}.png"' in html, f"report.html lacks autoscaler_{stem}.png")
            check(os.path.isfile(os.path.join(d, f"model-{stem}.csv")),
                  f"model-{stem}.csv missing (kpa_model not run)")


if __name__ == "__main__":
    main()
