"""The measurements of bench.py, each a function of the context (binaries,
mode, scratch directory) that adds its numbers to the results."""
import json
import os
import subprocess
import time

from bench_procs import (STARTED, BenchError, Worker, cpu_seconds, log,
                         memory_breakdown, mib, rss_bytes, spawn, threads)
from bench_report import fmt, metric, spaced
from bench_runs import (driver_args, h2load_args, median, note_load,
                        parse_h2load, percentile, ratio, read_run, run_costed,
                        run_driver, run_h2load, run_stats)


# h2load --rps=R writes every 10 ms (strace -ttt; docs/bench.md): the
# driver with this pacing quantum does the same job.
BURST = "10ms"


def measure_rate(ctx, rate, runs, duration_s, window=None):
    """`runs` driver runs at `rate` (spin 0, a fresh worker each). With a
    CPU `window`, each is followed by h2load at the same rate against a
    fresh worker; without, a run that misses ends the series (one miss
    settles "sustained")."""
    out = []
    for i in range(1, runs + 1):
        note_load(ctx)
        run = run_costed(ctx, f"rate-{rate}-{i}", rate, duration_s, window)
        text = (f"  {rate:>6} rps run {i}: answered "
                f"{run['answered_share']:.4f}, on time "
                f"{run['on_time_share']:.4f}, lag p99 {run['lag_p99_ms']} ms")
        if window:
            peer_worker = Worker(ctx.worker_bin, ctx.workdir,
                                 f"w-{rate}-{i}-h2")
            try:
                run["h2load"] = run_h2load(ctx, peer_worker,
                                           f"h2load-{rate}-{i}", rate,
                                           duration_s, window)
                run["h2load"]["worker_whole"] = peer_worker.stop_counted()
            finally:
                peer_worker.stop()
            if rate in ctx.p["burst_rates"]:
                run["driver_bursts"] = driver_in_bursts(ctx, rate, i,
                                                        duration_s)
            text += (f", CPU µs/call window / whole: driver "
                     f"{per_call(run['driver'], run['driver_whole'])}, worker "
                     f"{per_call(run['worker'], run['worker_whole'])}, h2load "
                     f"{per_call(run['h2load']['h2load'], run['h2load']['h2load_whole'])}")
        log(f"{text} -> {'sustained' if run['sustained'] else 'miss'}")
        out.append(run)
        if not window and not run["sustained"]:
            break
    return out


def driver_in_bursts(ctx, rate, i, duration_s):
    """The driver doing h2load's job: sends every 10 ms (h2load --rps writes
    every 10 ms), against a fresh worker; its whole CPU per call and lag."""
    worker = Worker(ctx.worker_bin, ctx.workdir, f"w-{rate}-{i}-bursts")
    try:
        ctx.worker = worker
        s, _, _, whole = run_driver(ctx, f"bursts-{rate}-{i}", rate,
                                    duration_s, 0,
                                    extra_args=[f"--pacing-quantum={BURST}"])
    finally:
        worker.stop()
    return {**whole, "lag_p99_ms": s["lag_ms"]["p99"]}


def per_call(window, whole):
    """'46.7 / 78.0': CPU µs per call over the window and the whole process."""
    return (f"{fmt(window['cpu_us_per_request'], 1)} / "
            f"{fmt(whole['cpu_us_per_request'], 1)}")


def rate_row(rate, runs):
    """The table row of one rate: the median of each cell over its runs."""
    def med(get):
        return median([get(r) for r in runs])
    return {
        "rps": rate, "runs": len(runs),
        "sustained_runs": sum(r["sustained"] for r in runs),
        "on_time_share": med(lambda r: r["on_time_share"]),
        "answered_share": med(lambda r: r["answered_share"]),
        "lag_p50_ms": med(lambda r: r["lag_p50_ms"]),
        "lag_p99_ms": med(lambda r: r["lag_p99_ms"]),
        "lag_max_ms": med(lambda r: r["lag_max_ms"]),
        "driver_cpu_us": med(lambda r: r["driver"]["cpu_us_per_request"]),
        "worker_cpu_us": med(lambda r: r["worker"]["cpu_us_per_request"]),
        "driver_cpu_us_whole":
            med(lambda r: r["driver_whole"]["cpu_us_per_request"]),
        "worker_cpu_us_whole":
            med(lambda r: r["worker_whole"]["cpu_us_per_request"]),
        # Each run's driver against the h2load run that followed it.
        "driver_vs_h2load_whole": med(lambda r: ratio(
            r["driver_whole"]["cpu_us_per_request"],
            r["h2load"]["h2load_whole"]["cpu_us_per_request"])),
        "driver_rss_mib": med(lambda r: mib(r["driver"]["rss_bytes"])),
        "worker_rss_mib": med(lambda r: mib(r["worker"]["rss_bytes"])),
        "driver_ctxt_per_call":
            med(lambda r: r["driver"]["context_switches_per_request"]),
        "worker_ctxt_per_call":
            med(lambda r: r["worker"]["context_switches_per_request"]),
        "overhead_p50_us": med(lambda r: r["overhead"]["p50_us"]),
        "overhead_p99_us": med(lambda r: r["overhead"]["p99_us"]),
        "h2load_cpu_us": med(lambda r: r["h2load"]["h2load"]["cpu_us_per_request"]),
        "h2load_worker_cpu_us":
            med(lambda r: r["h2load"]["worker"]["cpu_us_per_request"]),
        "driver_bursts_vs_h2load_whole": med(lambda r: ratio(
            r["driver_bursts"]["cpu_us_per_request"],
            r["h2load"]["h2load_whole"]["cpu_us_per_request"])
            if "driver_bursts" in r else None),
        "driver_bursts_lag_p99_ms":
            med(lambda r: r.get("driver_bursts", {}).get("lag_p99_ms")),
        "h2load_cpu_us_whole":
            med(lambda r: r["h2load"]["h2load_whole"]["cpu_us_per_request"]),
        "h2load_worker_cpu_us_whole":
            med(lambda r: r["h2load"]["worker_whole"]["cpu_us_per_request"]),
        "h2load_answered_share": med(lambda r: r["h2load"]["answered_share"]),
        "h2load_rss_mib": med(lambda r: mib(r["h2load"]["h2load"]["rss_bytes"])),
    }


def measure_rates(ctx, results):
    """The table (ctx.p["table_rates"]) and the highest rate sustained in
    every one of its runs, climbing ctx.p["ladder"] until a rate misses."""
    p = ctx.p
    rows, all_runs = [], {}
    for rate in p["table_rates"]:
        log(f"bench: {rate} rps, {p['runs']} runs, driver then h2load")
        runs = measure_rate(ctx, rate, p["runs"], p["cpu_run_s"], p["window"])
        all_runs[rate] = runs
        rows.append(rate_row(rate, runs))
    results["rate_table"] = rows
    results["details"]["rate_runs"] = {str(k): v for k, v in all_runs.items()}
    best = 0
    for rate in p["ladder"]:
        if rate not in all_runs:
            log(f"bench: sustained? {rate} rps, {p['runs']} runs")
            all_runs[rate] = measure_rate(ctx, rate, p["runs"], p["step_s"])
        if not all(r["sustained"] for r in all_runs[rate]):
            break
        best = rate
    results["details"]["ladder"] = {
        str(rate): [{k: r[k] for k in ("sustained", "lag_p99_ms",
                                       "answered_share", "dropped")}
                    for r in all_runs[rate]]
        for rate in p["ladder"] if rate in all_runs}
    by_rate = {row["rps"]: row for row in rows}
    metric(results, "driver_max_sustained_rps",
           f"driver + worker: highest rate with every call sent (lag p99 "
           f"<= 1 ms) and answered, in {p['runs']} of {p['runs']} runs",
           best, "RPS", ">=", 20000)
    if 1000 in by_rate:
        metric(results, "driver_cpu_us_1000",
               "driver: CPU per call at 1 000 RPS (window 2-8 s)",
               by_rate[1000]["driver_cpu_us"], "µs", "<=", 60)
        metric(results, "driver_cpu_us_whole_1000",
               "driver: CPU per call at 1 000 RPS, whole process (as `time` "
               "gives it)", by_rate[1000]["driver_cpu_us_whole"], "µs")
        metric(results, "overhead_p50_us_1000",
               "worker + driver: latency minus spin, p50, at 1 000 RPS",
               by_rate[1000]["overhead_p50_us"], "µs", "<=", 150)
    for rate in (1000, 5000):
        if rate in by_rate:
            metric(results, f"driver_vs_h2load_cpu_ratio_whole_{rate}",
                   f"driver CPU per call / h2load's, whole processes, at "
                   f"{spaced(rate)} RPS (median of the runs' ratios)",
                   by_rate[rate]["driver_vs_h2load_whole"], "x", "<=", 1.2)
            metric(results, f"driver_bursts_vs_h2load_cpu_ratio_whole_{rate}",
                   f"the same with the driver sending every {BURST} as h2load "
                   f"does (--pacing-quantum={BURST}; its lag p99 "
                   f"{fmt(by_rate[rate]['driver_bursts_lag_p99_ms'], 2)} ms)",
                   by_rate[rate]["driver_bursts_vs_h2load_whole"], "x")
    for rate in (5000, 10000):
        if rate in by_rate:
            metric(results, f"lag_p99_ms_{rate}",
                   f"driver: lag p99 at {spaced(rate)} RPS",
                   by_rate[rate]["lag_p99_ms"], "ms", "<=", 1)
    top = max(by_rate) if by_rate else None
    if top is not None:
        at = spaced(top)
        metric(results, "driver_cpu_us_top",
               f"driver: CPU per call at {at} RPS",
               by_rate[top]["driver_cpu_us"], "µs", "<=", 20)
        metric(results, "runs_clean_top",
               f"driver + worker at {at} RPS: runs with every call answered "
               f"and lag p99 <= 1 ms", by_rate[top]["sustained_runs"],
               f"of {by_rate[top]['runs']}", ">=", by_rate[top]["runs"])
        metric(results, "peer_h2load_cpu_us_top",
               f"peer: h2load CPU per call at {at} RPS (same call, same "
               f"worker binary)", by_rate[top]["h2load_cpu_us"], "µs")
        if by_rate[top]["h2load_cpu_us"]:
            metric(results, "driver_vs_h2load_cpu_ratio",
                   f"driver CPU per call / h2load's, at {at} RPS",
                   by_rate[top]["driver_cpu_us"]
                   / by_rate[top]["h2load_cpu_us"], "x")
    return best


def measure_overload(ctx, results, sustained):
    """ctx.p["overload_s"] at twice the sustained rate, then a run at half
    of it against the same worker, which must be clean. The worker's
    threads and RSS are sampled every second of the overload."""
    base = max(sustained, ctx.p["ladder"][0])
    high, low = 2 * base, max(1, base // 2)
    note_load(ctx)
    worker = Worker(ctx.worker_bin, ctx.workdir, "w-overload")
    ctx.worker = worker
    try:
        idle_threads = threads(worker.pid)
        name = f"overload-{high}"
        dur = ctx.p["overload_s"]
        args, out, summary = driver_args(ctx, worker.grpc_port, name, high,
                                         dur, 0)
        proc = spawn(args, os.path.join(ctx.workdir, f"{name}.log"))
        peak_threads, peak_rss = idle_threads, rss_bytes(worker.pid)
        while True:
            try:
                proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                peak_threads = max(peak_threads, threads(worker.pid))
                peak_rss = max(peak_rss, rss_bytes(worker.pid))
        STARTED.remove(proc)
        if proc.returncode != 0:
            raise BenchError(f"{name}: driver exited {proc.returncode}")
        over = run_stats(*read_run(summary, out))
        after_threads = threads(worker.pid)
        after = run_stats(*run_driver(ctx, f"after-overload-{low}", low,
                                      ctx.p["recover_s"], 0)[:2])
    finally:
        worker.stop()
    over.update({"rps": high, "duration_s": dur,
                 "worker_threads_idle": idle_threads,
                 "worker_threads_peak": peak_threads,
                 "worker_threads_after": after_threads,
                 "worker_rss_peak_mib": mib(peak_rss)})
    after["rps"] = low
    results["overload"] = {"overload": over, "after": after}
    log(f"  overload {high} rps: answered {over['answered_share']:.3f}, "
        f"failures {over['failures_by_code']}, dropped {over['dropped']}, "
        f"worker threads {idle_threads} -> {peak_threads}; then {low} rps: "
        f"{'clean' if after['sustained'] else 'NOT clean'}")
    metric(results, "overload_then_clean",
           f"overload: {dur} s at {spaced(high)} RPS (twice the sustained "
           f"rate), then {spaced(low)} RPS is clean (1 = yes)",
           1 if after["sustained"] else 0, "", ">=", 1)
    metric(results, "overload_worker_thread_growth",
           "overload: worker threads above idle at the peak",
           peak_threads - idle_threads, "threads")


def measure_h2load_closed(ctx, results):
    """The worker's CPU per call when h2load keeps 10 calls in flight on
    one connection (-c1 -m10, spin 0, as fast as it answers): median of
    ctx.p["runs"] runs against a fresh worker each."""
    n = ctx.p["h2load_calls"]
    runs = []
    for i in range(1, ctx.p["runs"] + 1):
        note_load(ctx)
        worker = Worker(ctx.worker_bin, ctx.workdir, f"w-closed-{i}")
        try:
            args = h2load_args(ctx, worker.grpc_port,
                               ["-c", "1", "-t", "1", "-m", "10", "-n", str(n)])
            log_path = os.path.join(ctx.workdir, f"h2load-closed-{i}.log")
            w0 = cpu_seconds(worker.pid)
            t0 = time.monotonic()
            proc = spawn(args, log_path)
            code = proc.wait(timeout=300)
            took = time.monotonic() - t0
            STARTED.remove(proc)
            w1 = cpu_seconds(worker.pid)
            with open(log_path) as f:
                text = f.read()
            if code != 0:
                raise BenchError(f"h2load exited {code}: {text[-300:]}")
            counts = parse_h2load(text)
            runs.append({"worker_cpu_us_per_call": (w1 - w0) * 1e6 / n,
                         "rps": n / took, "counts": counts,
                         "cmd": " ".join(args),
                         "worker_whole": worker.stop_counted()})
        finally:
            worker.stop()
    results["details"]["h2load_closed_loop"] = runs
    metric(results, "worker_cpu_us_h2load_c1_m10",
           f"worker: CPU per call under h2load -c1 -m10, spin 0 (median of "
           f"{len(runs)})", median([r["worker_cpu_us_per_call"] for r in runs]),
           "µs", "<=", 20)
    metric(results, "worker_cpu_us_h2load_c1_m10_whole",
           "worker: the same, whole process (start to exit, over the calls "
           "it answered)", median([r["worker_whole"]["cpu_us_per_request"]
                                   for r in runs]), "µs")
    metric(results, "worker_rps_h2load_c1_m10",
           "worker: calls per second answered under h2load -c1 -m10",
           median([r["rps"] for r in runs]), "RPS")


def measure_idle(ctx, results):
    worker = Worker(ctx.worker_bin, ctx.workdir, "w-idle")
    try:
        idle = rss_bytes(worker.pid)
        breakdown = memory_breakdown(worker.pid)
        results["details"]["worker_idle"] = {
            "rss_bytes": idle, "memory": breakdown,
            "threads": threads(worker.pid)}
    finally:
        worker.stop()
    metric(results, "worker_idle_rss_mib",
           "worker: idle RSS (serving, no calls yet)", mib(idle), "MiB", "<=",
           10)
    metric(results, "worker_idle_anon_mib",
           "worker: idle anonymous memory (heap and stacks; the rest of RSS "
           "is the binary and libraries mapped)", mib(breakdown["anonymous"]),
           "MiB")
    metric(results, "worker_idle_threads", "worker: threads when idle",
           results["details"]["worker_idle"]["threads"], "")


def measure_spin_accuracy(ctx, results):
    worker = Worker(ctx.worker_bin, ctx.workdir, "w-spin")
    ctx.worker = worker
    try:
        for spin_ms, rps, dur in ctx.p["spin_runs"]:
            note_load(ctx)
            _, rows, _, _ = run_driver(ctx, f"spin-{spin_ms}ms", rps, dur,
                                    spin_ms)
            errs = [int(r["server_spin_us"]) - spin_ms * 1000
                    for r in rows if r["status"] == "success"]
            if not errs:
                raise BenchError(f"spin {spin_ms} ms: no successful calls")
            results["details"][f"spin_{spin_ms}ms"] = {
                "n": len(errs), "p50_us": percentile(errs, 50),
                "p99_us": percentile(errs, 99), "min_us": min(errs),
                "max_us": max(errs)}
            metric(results, f"spin_error_p99_us_{spin_ms}ms",
                   f"worker: spin error p99 at {spin_ms} ms (server - "
                   f"requested)", percentile(errs, 99), "µs", "<=", 100)
    finally:
        worker.stop()


def measure_cold_start(ctx, results):
    r = subprocess.run([ctx.cold_start, f"--worker={ctx.worker_bin}",
                        f"--runs={ctx.p['cold_runs']}"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise BenchError(f"cold_start failed: {r.stderr.strip()}")
    data = json.loads(r.stdout)
    results["details"]["cold_start"] = data
    metric(results, "cold_listen_median_ms",
           f"worker: exec to listening (median of {data['runs']})",
           data["listen_median_ms"], "ms", "<=", 8)
    metric(results, "cold_start_median_ms",
           f"worker: exec to first answered call (median of {data['runs']})",
           data["median_ms"], "ms", "<=", 10)
