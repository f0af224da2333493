#!/usr/bin/python3
"""Benchmarks of the worker and the driver, with h2load as a peer.

Run through bench/run.sh (which builds the binaries first). Every number is
measured here, on this machine, in one invocation; see docs/bench.md for
what each one means. Writes <out-dir>/latest.json and latest.md (or
soak-latest.* with --soak) and prints the table.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from knbench_sweep import durations  # noqa: E402

from bench_measures import (measure_cold_start, measure_h2load_closed,
                            measure_idle, measure_overload, measure_rates,
                            measure_spin_accuracy)
from bench_procs import (STARTED, BenchError, Sampler, Worker, log, mib,
                         spawn, stop_all, wait_for_quiet)
from bench_report import machine, markdown, soak_markdown, spaced, write_outputs
from bench_runs import driver_args
from bench_tracing import MODES, measure_tracing


FULL = {"table_rates": [1000, 5000, 10000, 20000],
        # "Highest sustained": every rate of the table, then up until a miss.
        "ladder": [1000, 5000, 10000, 20000, 30000, 40000, 50000, 60000, 80000,
                   100000],
        "runs": 3, "step_s": 5, "cpu_run_s": 10, "window": (2.0, 8.0),
        # Where the driver also runs in h2load's 10 ms bursts.
        "burst_rates": [1000, 5000],
        "overload_s": 30, "recover_s": 10, "h2load_calls": 200000,
        "spin_runs": [(1, 100, 5), (10, 20, 5), (100, 5, 8)],
        "cold_runs": 20,
        # Tracing's cost: 3 rounds of off, 0.01, 1.0 (~2 min).
        "trace_rps": 5000, "trace_run_s": 10, "trace_window": (2.0, 8.0),
        "trace_rounds": 3}


QUICK = {"table_rates": [1000, 2000], "ladder": [1000, 2000], "runs": 1,
         "burst_rates": [1000],
         "step_s": 1, "cpu_run_s": 3, "window": (1.0, 2.5),
         "overload_s": 2, "recover_s": 1, "h2load_calls": 20000,
         "spin_runs": [(1, 100, 1), (10, 20, 1)], "cold_runs": 3,
         "trace_rps": 2000, "trace_run_s": 1, "trace_window": (0.3, 0.8),
         "trace_rounds": 1}


class Ctx:
    pass


def run_bench(args, ctx):
    ctx.p = QUICK if args.quick else FULL
    ctx.loads = []
    ctx.request_body = os.path.join(ctx.workdir, "request.bin")
    # The gRPC message prefix (uncompressed, length 0) of WorkRequest{
    # duration_ms: 0}, which serializes to zero bytes.
    with open(ctx.request_body, "wb") as f:
        f.write(b"\x00\x00\x00\x00\x00")
    start_load = os.getloadavg()[0]
    if args.max_load is not None:
        start_load = wait_for_quiet(args.max_load, args.max_wait)
    results = {"mode": "quick" if args.quick else "full",
               "date": datetime.datetime.now(datetime.timezone.utc)
               .strftime("%Y-%m-%dT%H:%M:%SZ"),
               "machine": machine(), "metrics": [], "details": {},
               "errors": []}
    sustained = 0

    def rates():
        nonlocal sustained
        sustained = measure_rates(ctx, results)

    steps = [("idle worker", lambda: measure_idle(ctx, results)),
             ("cold start", lambda: measure_cold_start(ctx, results)),
             ("worker under h2load -c1 -m10",
              lambda: measure_h2load_closed(ctx, results)),
             ("rates", rates),
             ("overload", lambda: measure_overload(ctx, results, sustained)),
             ("tracing", lambda: measure_tracing(ctx, results)),
             ("spin accuracy", lambda: measure_spin_accuracy(ctx, results))]
    for name, fn in steps:
        log(f"bench: {name}")
        try:
            fn()
        except (BenchError, OSError, ValueError, KeyError,
                subprocess.SubprocessError) as e:
            results["errors"].append(f"{name}: {e}")
            log(f"bench: {name} failed: {e}")
    results["load"] = {"start": start_load,
                       "max": max(ctx.loads or [start_load]),
                       "end": os.getloadavg()[0]}
    md = markdown(results)
    write_outputs(args.out_dir, "latest", results, md)
    print(md, end="")
    return 1 if results["errors"] else 0


def run_soak(args, ctx):
    seconds = parse_duration(args.soak)
    ctx.worker = Worker(ctx.worker_bin, ctx.workdir)
    driver, _, summary = driver_args(ctx, ctx.worker.grpc_port, "soak",
                                     args.soak_rps, seconds, args.soak_spin_ms)
    proc = spawn(driver, os.path.join(ctx.workdir, "soak-driver.log"))
    sampler = Sampler({"worker": ctx.worker.pid, "driver": proc.pid})
    start = time.monotonic()
    series = []
    k = 1
    while True:
        delay = start + k * args.sample_interval - time.monotonic()
        if delay > 0:
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is not None:
            break
        snap = sampler.take()
        snap["t"] -= start
        series.append(snap)
        log(f"soak: t={snap['t']:.0f}s worker rss "
            f"{mib(snap['worker']['rss']):.1f} MiB fds "
            f"{snap['worker']['fds']}, driver rss "
            f"{mib(snap['driver']['rss']):.1f} MiB fds {snap['driver']['fds']}")
        k += 1
    STARTED.remove(proc)
    ctx.worker.stop()
    if proc.returncode != 0 or len(series) < 2:
        raise BenchError(f"soak driver exited {proc.returncode} after "
                         f"{len(series)} samples")
    with open(summary) as f:
        s = json.load(f)
    growth = {}
    for who in ("worker", "driver"):
        rss = [x[who]["rss"] for x in series]
        fds = [x[who]["fds"] for x in series]
        growth[who] = {"rss_first": rss[0], "rss_last": rss[-1],
                       "rss_max": max(rss), "rss_growth": rss[-1] - rss[0],
                       "fds_first": fds[0], "fds_last": fds[-1],
                       "fds_max": max(fds), "fds_growth": fds[-1] - fds[0]}
    results = {"mode": "soak", "date": datetime.datetime.now(
        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "duration_s": seconds, "rps": args.soak_rps,
        "spin_ms": args.soak_spin_ms, "interval_s": args.sample_interval,
        "growth": growth, "samples": series,
        "driver_summary": {k: s[k] for k in ("scheduled", "sent", "success",
                                             "failure", "dropped",
                                             "latency_ms", "lag_ms")}}
    md = soak_markdown(results)
    write_outputs(args.out_dir, "soak-latest", results, md)
    print(md, end="")
    return 0


def parse_duration(text):
    """The soak's length in whole seconds (Go syntax, the kit's one parser)."""
    try:
        total = durations.whole_seconds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad duration \"{text}\" (e.g. 10m)") from None
    if total < 20:
        raise argparse.ArgumentTypeError("soak needs at least 20s")
    return total


def check(out_dir, soak):
    """Every field present and non-null: the ctest smoke test."""
    stem = "soak-latest" if soak else "latest"
    with open(os.path.join(out_dir, f"{stem}.json")) as f:
        r = json.load(f)
    with open(os.path.join(out_dir, f"{stem}.md")) as f:
        md = f.read()
    if soak:
        for who in ("worker", "driver"):
            for k in ("rss_first", "rss_last", "rss_growth", "fds_growth"):
                if r["growth"][who].get(k) is None:
                    raise BenchError(f"soak: missing {who}.{k}")
        return
    required = ["worker_idle_rss_mib", "worker_idle_anon_mib",
                "worker_idle_threads", "cold_listen_median_ms",
                "cold_start_median_ms", "worker_cpu_us_h2load_c1_m10",
                "worker_rps_h2load_c1_m10",
                "worker_cpu_us_h2load_c1_m10_whole",
                "driver_max_sustained_rps", "driver_cpu_us_1000",
                "driver_cpu_us_whole_1000",
                "driver_vs_h2load_cpu_ratio_whole_1000",
                "driver_bursts_vs_h2load_cpu_ratio_whole_1000",
                "overhead_p50_us_1000",
                "driver_cpu_us_top", "runs_clean_top",
                "peer_h2load_cpu_us_top", "driver_vs_h2load_cpu_ratio",
                "overload_then_clean", "overload_worker_thread_growth"]
    required += [f"spin_error_p99_us_{ms}ms" for ms, _, _ in
                 (QUICK if r["mode"] == "quick" else FULL)["spin_runs"]]
    columns = ["on_time_share", "answered_share", "lag_p50_ms", "lag_p99_ms",
               "lag_max_ms", "driver_cpu_us", "worker_cpu_us",
               "driver_rss_mib", "worker_rss_mib", "h2load_cpu_us",
               "h2load_worker_cpu_us", "h2load_answered_share",
               "driver_cpu_us_whole", "worker_cpu_us_whole",
               "h2load_cpu_us_whole", "h2load_worker_cpu_us_whole",
               "driver_vs_h2load_whole"]
    table = r.get("rate_table") or []
    want = (QUICK if r["mode"] == "quick" else FULL)["table_rates"]
    if [row["rps"] for row in table] != want:
        raise BenchError(f"rate table has rates "
                         f"{[row['rps'] for row in table]}, not {want}")
    for row in table:
        empty = [c for c in columns if row.get(c) is None]
        if empty:
            raise BenchError(f"{row['rps']} RPS: no value for {empty}")
        if f"| {spaced(row['rps'])} |" not in md:
            raise BenchError(f"latest.md lacks the row of {row['rps']} RPS")
    if not r.get("overload") or "Overload:" not in md:
        raise BenchError("no overload result")
    check_tracing(r, md)
    by_id = {m["id"]: m for m in r["metrics"]}
    missing = [k for k in required
               if k not in by_id or by_id[k]["value"] is None]
    if missing or r["errors"]:
        raise BenchError(f"missing metrics {missing}; errors {r['errors']}")
    for k in required:
        if by_id[k]["label"] not in md:
            raise BenchError(f"latest.md lacks the row of {k}")


def check_tracing(r, md):
    """A row per tracing mode, every figure present, the traced ones with
    their ratios to off and their span counts."""
    rows = (r.get("tracing") or {}).get("rows") or []
    if [row["tracing"] for row in rows] != [key for key, _ in MODES]:
        raise BenchError(f"tracing table has {[x['tracing'] for x in rows]}")
    for row in rows:
        keys = [k for k in row if row["tracing"] != "off"
                or not (k.endswith("_vs_off") or k.endswith("_spans"))]
        empty = [k for k in keys if row[k] is None]
        if empty:
            raise BenchError(f"tracing {row['tracing']}: no value for {empty}")
        if f"| {row['tracing']} |" not in md:
            raise BenchError(f"latest.md lacks the tracing row {row['tracing']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--cold-start", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--soak", metavar="DURATION")
    ap.add_argument("--soak-rps", type=int, default=1000)
    ap.add_argument("--soak-spin-ms", type=int, default=0)
    ap.add_argument("--sample-interval", type=int, default=10)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-load", type=float, default=None,
                    help="first wait until the 1-minute load average is "
                         "below this")
    ap.add_argument("--max-wait", type=int, default=600,
                    help="longest wait for --max-load, seconds")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch directory (CSV, logs)")
    args = ap.parse_args()
    if args.soak:
        try:
            parse_duration(args.soak)
        except argparse.ArgumentTypeError as e:
            ap.error(str(e))
    for b in (args.worker, args.driver, args.cold_start):
        if not os.access(b, os.X_OK):
            ap.error(f"not an executable: {b}")
    if not shutil.which("h2load") and not args.soak:
        ap.error("h2load not found (apt-get install nghttp2-client)")

    ctx = Ctx()
    ctx.worker_bin, ctx.driver = args.worker, args.driver
    ctx.cold_start = args.cold_start
    ctx.workdir = tempfile.mkdtemp(prefix="knbench-bench-")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    code = 1
    try:
        code = run_soak(args, ctx) if args.soak else run_bench(args, ctx)
        if args.check:
            check(args.out_dir, bool(args.soak))
            log("bench: check passed: every field present")
    except BenchError as e:
        log(f"bench: {e}")
        code = 1
    except KeyboardInterrupt:
        log("bench: interrupted")
        code = 130
    finally:
        stop_all()
        if args.keep or code:
            log(f"bench: scratch files kept in {ctx.workdir}")
        else:
            shutil.rmtree(ctx.workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
