#!/usr/bin/python3
"""What local serving's router (activator + queue-proxy) costs, next to a
direct connection, in one run on this machine.

At 1 000 and 5 000 RPS with spin 0, the same driver sends to a fresh worker
directly and then to a fresh local_serving with one pod (min-scale =
max-scale = 1). Per run: the latency the router adds (p50/p99 of latency
from the actual send minus the worker's spin), the router's CPU per proxied
call over a window and over its whole process, the CPU per call of the
worker behind it and of the worker alone, and their ratios; then the
highest rate at which every call is sent and answered, straight to a worker
and through the router. Every figure is the median of 3 such runs (about 4
minutes in all). Writes <out-dir>/local-serving-latest.{json,md}; see
docs/bench.md.
"""
import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_procs import (BenchError, Worker, cpu_seconds, http_get,  # noqa: E402
                         log, spawn, stop, stop_all, wait_for_quiet,
                         wait_until, whole_cost, worker_successes)
from bench_report import machine, markdown, metric, write_outputs  # noqa: E402
from bench_runs import (median, note_load, overhead, ratio,  # noqa: E402
                        run_driver, window_cost)


class Target:
    """What run_driver sends to: a port, and the pid whose CPU counts."""

    def __init__(self, grpc_port, pid):
        self.grpc_port = grpc_port
        self.pid = pid


class Router:
    def __init__(self, binary, worker_bin, workdir):
        log_path = os.path.join(workdir, "local_serving.log")
        self.proc = spawn(
            [binary, "--listen=127.0.0.1:0", "--metrics-port=0", f"--worker={worker_bin}",
             "--min-scale=1", "--max-scale=1", "--initial-scale=1", "--pod-start-delay=0s",
             f"--log-dir={workdir}"], log_path)
        line = re.compile(r"on 127\.0\.0\.1:(\d+), metrics on 127\.0\.0\.1:(\d+)")

        def ports():
            with open(log_path) as f:
                return line.search(f.read())

        wait_until(lambda: self.proc.poll() is not None or ports(), 20,
                         "local_serving to listen", error=BenchError)
        m = ports()
        if not m:
            raise BenchError(f"local_serving exited {self.proc.returncode}")
        self.grpc_port, self.metrics_port = int(m.group(1)), int(m.group(2))

        def one_ready():
            return json.loads(http_get(self.metrics_port, "/state")[1])["ready"] == 1

        wait_until(one_ready, 20, "the pod to be ready", error=BenchError)

    def stop(self):
        return stop(self.proc)


def pod_cost(router):
    """The CPU per call of the one pod behind the router, from its start to
    now (the load is over; local_serving stops the pod, so its exit is not
    ours to wait for)."""
    pods = json.loads(http_get(router.metrics_port, "/state")[1])["pods"]
    if len(pods) != 1:
        raise BenchError(f"local_serving runs {len(pods)} pods, not 1")
    return whole_cost(cpu_seconds(pods[0]["pid"]),
                      worker_successes(pods[0]["metrics_port"]))


def measure(ctx, results, rps, i):
    """One run at `rps` each way: a fresh worker straight, then a fresh
    local_serving with one pod, each stopped after it for its whole CPU."""
    window = ctx.p["window"]
    note_load(ctx)
    worker = Worker(ctx.worker_bin, ctx.workdir, f"direct-{rps}-{i}")
    try:
        direct, direct_rows, _, _ = run_driver(
            ctx.with_target(worker), f"direct-{rps}-{i}", rps, ctx.p["run_s"], 0,
            warmup_s=window[0])
        worker_whole = worker.stop_counted()
    finally:
        worker.stop()
    note_load(ctx)
    router = Router(ctx.serving_bin, ctx.worker_bin, ctx.workdir)
    try:
        via, via_rows, samples, _ = run_driver(
            ctx.with_target(Target(router.grpc_port, router.proc.pid)),
            f"router-{rps}-{i}", rps, ctx.p["run_s"], 0, warmup_s=window[0],
            window=window, extra_pids={"router": router.proc.pid})
        pod = pod_cost(router)
        router.stop()
    finally:
        router.stop()
    if direct["failure"] or via["failure"]:
        raise BenchError(f"{rps} RPS: {direct['failure']} direct and "
                         f"{via['failure']} routed calls failed")
    d, v = overhead(direct_rows), overhead(via_rows)
    router_whole = whole_cost(router.proc.cpu_s, via["sent"])
    run = {"direct": d, "router": v, "direct_worker_whole": worker_whole,
           "router_window": window_cost(samples, "router", rps),
           "router_whole": router_whole, "pod_whole": pod,
           "router_vs_pod_cpu": ratio(router_whole["cpu_us_per_request"],
                                      pod["cpu_us_per_request"]),
           "p50_ratio": ratio(v["p50_us"], d["p50_us"]),
           "p99_ratio": ratio(v["p99_us"], d["p99_us"])}
    log(f"  {rps} rps run {i}: p50 {d['p50_us']:.0f} -> {v['p50_us']:.0f} µs, "
        f"p99 {d['p99_us']:.0f} -> {v['p99_us']:.0f} µs; CPU µs/call: router "
        f"{router_whole['cpu_us_per_request']:.1f} (window "
        f"{run['router_window']['cpu_us_per_request']:.1f}), pod "
        f"{pod['cpu_us_per_request']:.1f}, direct worker "
        f"{worker_whole['cpu_us_per_request']:.1f}")
    return run


def report_rate(results, rps, runs):
    """The medians over the runs at `rps`, as metrics."""
    at = f"at {rps:,} RPS".replace(",", " ")
    n = len(runs)

    def med(get):
        return median([get(r) for r in runs])

    def cpu(key):
        return med(lambda r: r[key]["cpu_us_per_request"])

    results["details"][f"{rps}rps"] = runs
    label = f"router: latency added, p50, {at}"
    added = med(lambda r: r["router"]["p50_us"] - r["direct"]["p50_us"])
    metric(results, f"router_added_p50_us_{rps}", label, added, "µs",
           *(("<=", 150) if rps == 1000 else ()))
    metric(results, f"direct_p99_us_{rps}", f"direct: latency p99, {at}",
           med(lambda r: r["direct"]["p99_us"]), "µs")
    metric(results, f"router_p99_us_{rps}", f"through the router: latency p99, {at}",
           med(lambda r: r["router"]["p99_us"]), "µs")
    metric(results, f"router_cpu_us_per_call_{rps}",
           f"router: CPU per proxied call, {at} (window)", cpu("router_window"),
           "µs", "<=", 30)
    metric(results, f"router_cpu_us_per_call_whole_{rps}",
           f"router: CPU per proxied call, {at}, whole process", cpu("router_whole"),
           "µs")
    metric(results, f"pod_cpu_us_per_call_{rps}",
           f"worker behind the router: CPU per call, {at}, whole process",
           cpu("pod_whole"), "µs")
    metric(results, f"direct_worker_cpu_us_per_call_{rps}",
           f"worker without the router: CPU per call, {at}, whole process",
           cpu("direct_worker_whole"), "µs")
    metric(results, f"router_vs_pod_cpu_ratio_{rps}",
           f"router CPU per call / its worker's, {at} (median of {n})",
           med(lambda r: r["router_vs_pod_cpu"]), "x", "<=", 1.0)
    target = {"p50": 1.5, "p99": 2} if rps == 1000 else {}
    for q in ("p50", "p99"):
        metric(results, f"router_vs_direct_{q}_ratio_{rps}",
               f"latency {q} through the router / direct, {at} (median of {n})",
               med(lambda r: r[f"{q}_ratio"]),
               "x", *(("<=", target[q]) if q in target else ()))


def climb(ctx, make_target, name):
    """The highest rate of ctx.p["rates"] at which every call was sent and
    answered, climbing until the first that is not, against one target."""
    best, steps = 0, []
    target, stop_target = make_target()
    try:
        for rps in ctx.p["rates"]:
            note_load(ctx)
            s, _, _, _ = run_driver(ctx.with_target(target), f"{name}-{rps}", rps,
                                    ctx.p["step_s"], 0)
            ok = s["sent"] == s["scheduled"] and s["success"] == s["scheduled"]
            steps.append({"rps": rps, "scheduled": s["scheduled"],
                          "sent": s["sent"], "success": s["success"],
                          "failure": s["failure"], "dropped": s["dropped"],
                          "lag_p99_ms": s["lag_ms"]["p99"], "answered_all": ok})
            log(f"  {name} {rps:>6} rps: {s['success']}/{s['scheduled']} "
                f"answered -> {'ok' if ok else 'miss'}")
            if not ok:
                break
            best = rps
    finally:
        stop_target()
    return best, steps


def max_rates(ctx, i):
    """Run i of the highest rates, straight to a worker and through the
    router, and their ratio."""
    def direct():
        w = Worker(ctx.worker_bin, ctx.workdir, f"max-direct-{i}")
        return w, w.stop

    def routed():
        r = Router(ctx.serving_bin, ctx.worker_bin, ctx.workdir)
        return Target(r.grpc_port, r.proc.pid), r.stop

    d, d_steps = climb(ctx, direct, f"max-direct-{i}")
    r, r_steps = climb(ctx, routed, f"max-router-{i}")
    return {"direct_rps": d, "router_rps": r, "ratio": ratio(r, d),
            "direct_steps": d_steps, "router_steps": r_steps}


def report_max(results, runs):
    n = len(runs)
    results["details"]["max_rate"] = runs
    metric(results, "router_max_rps", "router: highest rate with every call answered "
           f"(driver, router and pod on 2 cores; median of {n})",
           median([r["router_rps"] for r in runs]), "RPS")
    metric(results, "direct_max_rps", "direct: highest rate with every call answered "
           f"(driver and worker; median of {n})",
           median([r["direct_rps"] for r in runs]), "RPS")
    metric(results, "router_vs_direct_max_rate_ratio",
           f"highest rate through the router / direct (median of {n})",
           median([r["ratio"] for r in runs]), "x", ">=", 0.5)


class Ctx:
    def with_target(self, target):
        c = Ctx()
        c.__dict__.update(self.__dict__)
        c.worker = target
        return c


# Each figure is the median of `runs` runs; a run of the rates and of the
# climbs takes about 80 s in full (see docs/bench.md).
FULL = {"window": (3, 9), "run_s": 10, "runs": 3, "step_s": 3, "rps": (1000, 5000),
        "rates": [1000, 2000, 5000, 10000, 15000, 20000, 30000, 40000, 60000,
                  80000, 100000]}
QUICK = {"window": (1, 2), "run_s": 3, "runs": 1, "step_s": 2, "rps": (500,),
         "rates": [500, 1000]}


def run(ctx, results):
    by_rate = {rps: [] for rps in ctx.p["rps"]}
    maxes = []
    for i in range(1, ctx.p["runs"] + 1):
        for rps in ctx.p["rps"]:
            log(f"bench: run {i} of {ctx.p['runs']}: {rps} RPS, direct then "
                "through the router")
            by_rate[rps].append(measure(ctx, results, rps, i))
        log(f"bench: run {i} of {ctx.p['runs']}: highest rates, direct and "
            "through the router")
        maxes.append(max_rates(ctx, i))
    for rps, runs in by_rate.items():
        report_rate(results, rps, runs)
    report_max(results, maxes)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--local-serving", required=True, help="the local_serving binary")
    ap.add_argument("--worker", required=True, help="the worker binary")
    ap.add_argument("--driver", required=True, help="the load_driver binary")
    ap.add_argument("--out-dir", required=True, help="where the results go")
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--check", action="store_true",
                    help="afterwards, fail unless every figure is present")
    ap.add_argument("--max-load", type=float, default=None,
                    help="first wait until the 1-minute load average is below this")
    ap.add_argument("--max-wait", type=int, default=600,
                    help="longest wait for --max-load, seconds")
    args = ap.parse_args()
    for path in (args.local_serving, args.worker, args.driver):
        if not os.access(path, os.X_OK):
            ap.error(f"not an executable: {path}")

    start_load = os.getloadavg()[0]
    if args.max_load is not None:
        start_load = wait_for_quiet(args.max_load, args.max_wait)
    ctx = Ctx()
    ctx.p = QUICK if args.quick else FULL
    ctx.loads = [start_load]  # the 1-minute load before each run
    ctx.driver = args.driver
    ctx.workdir = tempfile.mkdtemp(prefix="knbench-ls-bench-")
    results = {"mode": "local serving " + ("quick" if args.quick else "full"),
               "metrics": [], "details": {}, "errors": [], "machine": machine(),
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    ctx.worker_bin, ctx.serving_bin = args.worker, args.local_serving

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        run(ctx, results)
    except BenchError as e:
        print(f"local_serving_bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("local_serving_bench: interrupted", file=sys.stderr)
        return 130
    finally:
        stop_all()
        shutil.rmtree(ctx.workdir, ignore_errors=True)
    results["load"] = {"start": start_load, "max": max(ctx.loads),
                       "end": os.getloadavg()[0]}
    results["wall_s"] = time.monotonic() - started
    md = markdown(results)
    write_outputs(args.out_dir, "local-serving-latest", results, md)
    print(md)
    if args.check:
        missing = check(results, md, QUICK if args.quick else FULL)
        if missing:
            print(f"local_serving_bench: check failed: no value for {missing}",
                  file=sys.stderr)
            return 1
        print("local_serving_bench: check passed: every figure present", file=sys.stderr)
    return 0


def check(results, md, p):
    """The figures every run must produce, present in the JSON and the table."""
    required = ["router_max_rps", "direct_max_rps",
                "router_vs_direct_max_rate_ratio"]
    for rps in p["rps"]:
        required += [f"{k}_{rps}" for k in (
            "router_added_p50_us", "direct_p99_us", "router_p99_us",
            "router_cpu_us_per_call", "router_cpu_us_per_call_whole",
            "pod_cpu_us_per_call", "direct_worker_cpu_us_per_call",
            "router_vs_pod_cpu_ratio", "router_vs_direct_p50_ratio",
            "router_vs_direct_p99_ratio")]
    by_id = {m["id"]: m for m in results["metrics"]}
    return [k for k in required
            if k not in by_id or by_id[k]["value"] is None or by_id[k]["label"] not in md]


if __name__ == "__main__":
    sys.exit(main())
