#!/usr/bin/python3
"""What local serving's router (activator + queue-proxy) costs, next to a
direct connection, in one run on this machine.

At 1 000 and 5 000 RPS with spin 0, the same driver sends to a worker
directly and to a worker behind local_serving (one pod: min-scale = max-scale
= 1). It reports the latency the router adds (p50/p99 of latency from the
actual send minus the worker's spin), the router's CPU per proxied call, and
the highest rate the router sustains with every call sent and answered.
Writes <out-dir>/local-serving-latest.{json,md}; see docs/bench.md.
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
from bench_procs import (BenchError, Worker, http_get, log, spawn,  # noqa: E402
                         stop, stop_all, wait_for_quiet, wait_until)
from bench_report import machine, markdown, metric, write_outputs  # noqa: E402
from bench_runs import note_load, overhead, run_driver, window_cost  # noqa: E402


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


def measure(ctx, router, results, rps):
    window = ctx.p["window"]
    note_load(ctx)
    direct, direct_rows, _, _ = run_driver(
        ctx.with_target(ctx.direct), f"direct-{rps}", rps, ctx.p["run_s"], 0,
        warmup_s=window[0])
    note_load(ctx)
    via, via_rows, samples, _ = run_driver(
        ctx.with_target(Target(router.grpc_port, router.proc.pid)), f"router-{rps}",
        rps, ctx.p["run_s"], 0, warmup_s=window[0], window=window,
        extra_pids={"router": router.proc.pid})
    d, v = overhead(direct_rows), overhead(via_rows)
    cost = window_cost(samples, "router", rps)
    results["details"][f"{rps}rps"] = {
        "direct": d, "router": v, "router_process": cost,
        "direct_failures": direct["failure"], "router_failures": via["failure"]}
    if direct["failure"] or via["failure"]:
        raise BenchError(f"{rps} RPS: {direct['failure']} direct and "
                         f"{via['failure']} routed calls failed")
    at = f"at {rps:,} RPS".replace(",", " ")
    added_p50 = v["p50_us"] - d["p50_us"]
    label = f"router: latency added, p50, {at}"
    if rps == 1000:  # the target is set at 1 000 RPS
        metric(results, f"router_added_p50_us_{rps}", label, added_p50, "µs", "<=", 150)
    else:
        metric(results, f"router_added_p50_us_{rps}", label, added_p50, "µs")
    # Tails of two separate runs differ by noise as much as by the router, so
    # both are reported rather than a difference that can come out negative.
    metric(results, f"direct_p99_us_{rps}", f"direct: latency p99, {at}",
           d["p99_us"], "µs")
    metric(results, f"router_p99_us_{rps}", f"through the router: latency p99, {at}",
           v["p99_us"], "µs")
    metric(results, f"router_cpu_us_per_call_{rps}", f"router: CPU per proxied call, {at}",
           cost["cpu_us_per_request"], "µs", "<=", 30)


def max_rate(ctx, router, results):
    best, steps = 0, []
    target = ctx.with_target(Target(router.grpc_port, router.proc.pid))
    for rps in ctx.p["rates"]:
        note_load(ctx)
        s, _, _, _ = run_driver(target, f"max-{rps}", rps, ctx.p["step_s"], 0)
        ok = s["sent"] == s["scheduled"] and s["success"] == s["scheduled"]
        steps.append({"rps": rps, "scheduled": s["scheduled"], "sent": s["sent"],
                      "success": s["success"], "failure": s["failure"],
                      "dropped": s["dropped"], "lag_p99_ms": s["lag_ms"]["p99"],
                      "answered_all": ok})
        log(f"  {rps:>6} rps: {s['success']}/{s['scheduled']} answered -> "
            f"{'ok' if ok else 'miss'}")
        if not ok:
            break
        best = rps
    results["details"]["max_rate_steps"] = steps
    metric(results, "router_max_rps", "router: highest rate with every call answered "
           "(driver and router on 2 cores)", best, "RPS")


class Ctx:
    def with_target(self, target):
        c = Ctx()
        c.__dict__.update(self.__dict__)
        c.worker = target
        return c


FULL = {"window": (3, 9), "run_s": 10, "rates": [1000, 2000, 5000, 10000, 15000, 20000],
        "step_s": 5}
QUICK = {"window": (1, 2), "run_s": 3, "rates": [500, 1000], "step_s": 2}


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
    router = None

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        worker = Worker(args.worker, ctx.workdir)
        ctx.direct = worker
        router = Router(args.local_serving, args.worker, ctx.workdir)
        for rps in (1000, 5000) if not args.quick else (500,):
            log(f"bench: {rps} RPS, direct then through the router")
            measure(ctx, router, results, rps)
        log("bench: highest rate through the router")
        max_rate(ctx, router, results)
    except BenchError as e:
        print(f"local_serving_bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("local_serving_bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if router:
            router.stop()
        stop_all()
        shutil.rmtree(ctx.workdir, ignore_errors=True)
    results["load"] = {"start": start_load, "max": max(ctx.loads),
                       "end": os.getloadavg()[0]}
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
    rates = (1000, 5000) if p is FULL else (500,)
    required = ["router_max_rps"]
    for rps in rates:
        required += [f"router_added_p50_us_{rps}", f"direct_p99_us_{rps}",
                     f"router_p99_us_{rps}", f"router_cpu_us_per_call_{rps}"]
    by_id = {m["id"]: m for m in results["metrics"]}
    return [k for k in required
            if k not in by_id or by_id[k]["value"] is None or by_id[k]["label"] not in md]


if __name__ == "__main__":
    sys.exit(main())
