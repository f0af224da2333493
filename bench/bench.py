#!/usr/bin/python3
"""Benchmarks of the worker and the driver, with h2load as a peer.

Run through bench/run.sh (which builds the binaries first). Every number is
measured here, on this machine, in one invocation; see docs/bench.md for
what each one means. Writes <out-dir>/latest.json and latest.md (or
soak-latest.* with --soak) and prints the table.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
from knbench_proc import free_port, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
METHOD_PATH = "/load_worker.LoadWorker/InvokeWorker"


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid):
    """utime+stime of a process (all its threads, live and exited)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICKS


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def context_switches(pid):
    """Voluntary + involuntary switches of the live threads of `pid`."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
        except OSError:
            pass  # the thread ended
    return total


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def memory_breakdown(pid):
    """From smaps_rollup: RSS, PSS, and anonymous memory (heap, stacks: what
    the process allocated, as opposed to mapped library and binary pages,
    which count as shared or private depending on who else maps them)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return {"rss": out.get("Rss"), "pss": out.get("Pss"),
            "anonymous": out.get("Anonymous"),
            "shared": out.get("Shared_Clean", 0) + out.get("Shared_Dirty", 0),
            "private": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)}


def mib(n):
    return n / (1024 * 1024)


# ---------------------------------------------------------------- processes

STARTED = []  # every process we started, stopped on exit


def stop(proc, timeout=20):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    if proc in STARTED:
        STARTED.remove(proc)
    return proc.returncode


def stop_all():
    for proc in list(STARTED):
        stop(proc, timeout=5)


def spawn(args, log_path, **kw):
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, **kw)
    log.close()
    STARTED.append(proc)
    return proc


def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                timeout=timeout) as r:
        return r.status, r.read().decode()


class Worker:
    def __init__(self, binary, workdir, name="worker", extra=()):
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.proc = spawn([binary, "--bind=127.0.0.1",
                           f"--grpc-port={self.grpc_port}",
                           f"--metrics-port={self.metrics_port}", *extra],
                          os.path.join(workdir, f"{name}.log"),
                          env={**os.environ, "POD_NAME": name})

        def ready():
            if self.proc.poll() is not None:
                raise BenchError(f"worker exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.grpc_port),
                                         timeout=1).close()
                return http_get(self.metrics_port, "/healthz")[0] == 200
            except OSError:
                return False

        wait_until(ready, 20, "the worker to serve", error=BenchError)

    @property
    def pid(self):
        return self.proc.pid

    def successes(self):
        _, text = http_get(self.metrics_port, "/metrics")
        m = re.search(r'^worker_requests_total\{[^}]*status="success"[^}]*\} '
                      r'([0-9.e+]+)$', text, re.M)
        return float(m.group(1)) if m else 0.0

    def stop(self):
        return stop(self.proc)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class Sampler:
    """CPU/RSS of some pids at chosen offsets after a start time."""

    def __init__(self, pids):
        self.pids = pids

    def take(self):
        snap = {"t": time.monotonic()}
        for name, pid in self.pids.items():
            snap[name] = {"cpu_s": cpu_seconds(pid), "rss": rss_bytes(pid),
                          "fds": open_fds(pid), "threads": threads(pid),
                          "ctxt": context_switches(pid)}
        return snap


def run_driver(ctx, name, rps, duration_s, spin_ms, warmup_s=0, window=None,
               extra_pids=None, extra_args=()):
    """One driver run to completion. With window=(a, b), samples CPU/RSS of
    the driver (and extra_pids) a and b seconds after the driver started."""
    out = os.path.join(ctx.workdir, f"{name}.csv")
    summary = os.path.join(ctx.workdir, f"{name}.json")
    args = [ctx.driver, "--bind=127.0.0.1",
            f"--target=127.0.0.1:{ctx.worker.grpc_port}",
            f"--rps={rps}", f"--duration={duration_s}s",
            f"--spin-ms={spin_ms}", f"--out={out}", f"--summary={summary}",
            "--metrics-port=0", "--progress-interval=1h", *extra_args]
    if warmup_s:
        args.append(f"--warmup={warmup_s}s")
    start = time.monotonic()
    proc = spawn(args, os.path.join(ctx.workdir, f"{name}.log"))
    samples = []
    if window:
        pids = {"driver": proc.pid, **(extra_pids or {})}
        sampler = Sampler(pids)
        for offset in window:
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if proc.poll() is not None:
                raise BenchError(f"{name}: driver ended before the sample")
            samples.append(sampler.take())
    try:
        code = proc.wait(timeout=duration_s + 120)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise BenchError(f"{name}: driver did not finish")
    STARTED.remove(proc)
    if code != 0:
        raise BenchError(f"{name}: driver exited {code}; see "
                         f"{os.path.join(ctx.workdir, name + '.log')}")
    with open(summary) as f:
        s = json.load(f)
    return s, out, samples


def window_cost(samples, who, rps):
    """CPU µs per request and RSS of `who` over the sampled window of an
    open-loop run at `rps` (the requests due in the window: rps * seconds)."""
    a, b = samples
    seconds = b["t"] - a["t"]
    cpu = b[who]["cpu_s"] - a[who]["cpu_s"]
    return {"cpu_us_per_request": cpu * 1e6 / (rps * seconds),
            "cpu_cores": cpu / seconds, "window_s": seconds,
            "rss_bytes": b[who]["rss"], "threads": b[who]["threads"],
            "context_switches_per_request":
                (b[who]["ctxt"] - a[who]["ctxt"]) / (rps * seconds)}


def overhead(csv_path):
    """End-to-end latency from actual send minus server-measured spin, µs,
    over non-warm-up successes."""
    vals = [int(r["latency_us"]) - int(r["server_spin_us"] or 0)
            for r in read_csv(csv_path)
            if r["status"] == "success" and r["warmup"] == "0"]
    return {"n": len(vals), "p50_us": percentile(vals, 50),
            "p99_us": percentile(vals, 99)}



def run_stats(summary, csv_path):
    """What one driver run says about its schedule: the share sent on time
    (lag <= 1 ms, not dropped) and answered, lag percentiles, failures by
    gRPC code, and whether it was sustained (everything sent, lag p99 <= 1
    ms, every call answered)."""
    rows = read_csv(csv_path)
    scheduled = summary["scheduled"]
    on_time = sum(1 for r in rows
                  if r["status"] != "dropped" and int(r["lag_us"]) <= 1000)
    codes = {}
    for r in rows:
        if r["status"] == "failure":
            codes[r["grpc_code"]] = codes.get(r["grpc_code"], 0) + 1
    lag = summary["lag_ms"]
    sustained = (summary["sent"] == scheduled and summary["dropped"] == 0
                 and lag["p99"] is not None and lag["p99"] <= 1.0
                 and summary["success"] == scheduled)
    return {"scheduled": scheduled, "sent": summary["sent"],
            "success": summary["success"], "failure": summary["failure"],
            "dropped": summary["dropped"], "failures_by_code": codes,
            "on_time_share": on_time / scheduled if scheduled else None,
            "answered_share": summary["success"] / scheduled
            if scheduled else None,
            "lag_p50_ms": lag["p50"], "lag_p99_ms": lag["p99"],
            "lag_max_ms": lag["max"], "sustained": sustained}


def h2load_args(ctx, port, extra):
    return ["h2load", *extra, "-d", ctx.request_body, "-H",
            "content-type: application/grpc", "-H", "te: trailers",
            f"http://127.0.0.1:{port}{METHOD_PATH}"]


def parse_h2load(text):
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, "
                  r"(\d+) succeeded, (\d+) failed", text)
    if not m:
        raise BenchError(f"h2load printed no request counts: {text[-300:]}")
    return {"total": int(m.group(1)), "done": int(m.group(3)),
            "succeeded": int(m.group(4)), "failed": int(m.group(5))}


def run_h2load(ctx, worker, name, rps, duration_s, window):
    """h2load at `rps` (one connection, up to 100 streams) for duration_s
    against `worker`: CPU per call of h2load and of the worker over the
    window, the share of calls the worker counted as gRPC successes."""
    before = worker.successes()
    args = h2load_args(ctx, worker.grpc_port, ["-c", "1", "-t", "1", "-m", "100",
                                          f"--rps={rps}", f"-D{duration_s}"])
    log_path = os.path.join(ctx.workdir, f"{name}.log")
    start = time.monotonic()
    proc = spawn(args, log_path)
    sampler = Sampler({"h2load": proc.pid, "worker": worker.pid})
    samples = []
    for offset in window:
        delay = start + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if proc.poll() is not None:
            raise BenchError(f"{name}: h2load ended before the sample")
        samples.append(sampler.take())
    code = proc.wait(timeout=duration_s + 60)
    STARTED.remove(proc)
    with open(log_path) as f:
        text = f.read()
    if code != 0:
        raise BenchError(f"{name}: h2load exited {code}: {text[-500:]}")
    counts = parse_h2load(text)
    served = worker.successes() - before
    if not served:
        raise BenchError("h2load's calls did not reach the worker as gRPC "
                         "successes")
    return {"h2load": window_cost(samples, "h2load", rps),
            "worker": window_cost(samples, "worker", rps),
            "counts": counts, "worker_grpc_successes": served,
            "answered_share": served / counts["total"]
            if counts["total"] else None,
            "cmd": " ".join(args)}


def median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values)


def note_load(ctx):
    ctx.loads.append(os.getloadavg()[0])


# ---------------------------------------------------------------- measurements


def measure_rate(ctx, rate, runs, duration_s, window=None):
    """`runs` driver runs at `rate` (spin 0, a fresh worker each). With a
    CPU `window`, each is followed by h2load at the same rate against a
    fresh worker; without, a run that misses ends the series (one miss
    settles "sustained")."""
    out = []
    for i in range(1, runs + 1):
        note_load(ctx)
        worker = Worker(ctx.worker_bin, ctx.workdir, f"w-{rate}-{i}")
        try:
            ctx.worker = worker
            s, csv_path, samples = run_driver(
                ctx, f"rate-{rate}-{i}", rate, duration_s, 0,
                warmup_s=window[0] if window else 0, window=window,
                extra_pids={"worker": worker.pid})
            run = run_stats(s, csv_path)
            if window:
                run["driver"] = window_cost(samples, "driver", rate)
                run["worker"] = window_cost(samples, "worker", rate)
                run["overhead"] = overhead(csv_path)
        finally:
            worker.stop()
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
            finally:
                peer_worker.stop()
            text += (f", driver {run['driver']['cpu_us_per_request']:.1f} "
                     f"µs, worker {run['worker']['cpu_us_per_request']:.1f} "
                     f"µs, h2load "
                     f"{run['h2load']['h2load']['cpu_us_per_request']:.1f} µs")
        log(f"{text} -> {'sustained' if run['sustained'] else 'miss'}")
        out.append(run)
        if not window and not run["sustained"]:
            break
    return out


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
               "driver: CPU per call at 1 000 RPS",
               by_rate[1000]["driver_cpu_us"], "µs", "<=", 60)
        metric(results, "overhead_p50_us_1000",
               "worker + driver: latency minus spin, p50, at 1 000 RPS",
               by_rate[1000]["overhead_p50_us"], "µs", "<=", 150)
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
        out = os.path.join(ctx.workdir, f"{name}.csv")
        summary = os.path.join(ctx.workdir, f"{name}.json")
        dur = ctx.p["overload_s"]
        proc = spawn([ctx.driver, "--bind=127.0.0.1",
                      f"--target=127.0.0.1:{worker.grpc_port}",
                      f"--rps={high}", f"--duration={dur}s", "--spin-ms=0",
                      f"--out={out}", f"--summary={summary}",
                      "--metrics-port=0", "--progress-interval=1h"],
                     os.path.join(ctx.workdir, f"{name}.log"))
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
        with open(summary) as f:
            over = run_stats(json.load(f), out)
        after_threads = threads(worker.pid)
        s, csv_path, _ = run_driver(ctx, f"after-overload-{low}", low,
                                    ctx.p["recover_s"], 0)
        after = run_stats(s, csv_path)
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
                         "cmd": " ".join(args)})
        finally:
            worker.stop()
    results["details"]["h2load_closed_loop"] = runs
    metric(results, "worker_cpu_us_h2load_c1_m10",
           f"worker: CPU per call under h2load -c1 -m10, spin 0 (median of "
           f"{len(runs)})", median([r["worker_cpu_us_per_call"] for r in runs]),
           "µs", "<=", 20)
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
            _, out, _ = run_driver(ctx, f"spin-{spin_ms}ms", rps, dur, spin_ms)
            errs = [int(r["server_spin_us"]) - spin_ms * 1000
                    for r in read_csv(out) if r["status"] == "success"]
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


# ---------------------------------------------------------------- reporting


def metric(results, mid, label, value, unit, op=None, target=None):
    passed = None
    if op and value is not None:
        passed = value >= target if op == ">=" else value <= target
    results["metrics"].append({
        "id": mid, "label": label, "value": value, "unit": unit,
        "target": f"{op} {target:g} {unit}".rstrip() if op else None,
        "pass": passed})


def fmt(v, digits=None):
    if v is None:
        return "—"
    if isinstance(v, float):
        if digits is not None:
            return f"{v:.{digits}f}"
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


def spaced(n):
    """1 000 rather than 1,000 or 1000."""
    return f"{n:,}".replace(",", " ")


def share(v):
    return "—" if v is None else f"{100 * v:.2f} %"


def markdown(results):
    m = results["machine"]
    loads = results.get("load")
    load_text = ""
    if loads:
        load_text = (f"; 1-minute load average {loads['start']:.2f} at the "
                     f"start, {loads['max']:.2f} at most before a run, "
                     f"{loads['end']:.2f} at the end")
    lines = [f"Benchmark {results['mode']} run, {results['date']}, "
             f"{m['cpus']} CPUs, commit {m['commit']}{load_text}", ""]
    table = results.get("rate_table")
    if table:
        runs = table[0]["runs"]
        lines += [f"Per rate, spin 0, driver and worker side by side on "
                  f"loopback; each cell the median of {runs} run(s); h2load "
                  f"at the same rate against a fresh worker after each run:",
                  "",
                  "| rate (RPS) | sent on time | answered | lag p50 / p99 / "
                  "max (ms) | driver µs/call | worker µs/call | driver RSS "
                  "(MiB) | worker RSS (MiB) | sustained runs | h2load µs/call "
                  "| worker µs/call under h2load | h2load answered |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in table:
            lines.append(
                f"| {spaced(r['rps'])} | {share(r['on_time_share'])} | "
                f"{share(r['answered_share'])} | {fmt(r['lag_p50_ms'], 3)} / "
                f"{fmt(r['lag_p99_ms'], 3)} / {fmt(r['lag_max_ms'], 2)} | "
                f"{fmt(r['driver_cpu_us'], 1)} | {fmt(r['worker_cpu_us'], 1)} "
                f"| {fmt(r['driver_rss_mib'], 1)} | "
                f"{fmt(r['worker_rss_mib'], 1)} | {r['sustained_runs']} of "
                f"{r['runs']} | {fmt(r['h2load_cpu_us'], 1)} | "
                f"{fmt(r['h2load_worker_cpu_us'], 1)} | "
                f"{share(r['h2load_answered_share'])} |")
        lines.append("")
    ov = results.get("overload")
    if ov:
        o, a = ov["overload"], ov["after"]
        codes = ", ".join(f"{k} {v}" for k, v in o["failures_by_code"].items())
        lines += [f"Overload: {o['duration_s']} s at {spaced(o['rps'])} RPS: "
                  f"{share(o['answered_share'])} answered, failures: "
                  f"{codes or 'none'}, {o['dropped']} dropped by the driver, "
                  f"lag p99 {fmt(o['lag_p99_ms'], 2)} ms; worker threads "
                  f"{o['worker_threads_idle']} idle, "
                  f"{o['worker_threads_peak']} at the peak, "
                  f"{o['worker_threads_after']} after; worker RSS peak "
                  f"{o['worker_rss_peak_mib']:.1f} MiB. Then {spaced(a['rps'])} "
                  f"RPS: {share(a['answered_share'])} answered, lag p99 "
                  f"{fmt(a['lag_p99_ms'], 3)} ms: "
                  f"{'clean' if a['sustained'] else 'NOT clean'}.", ""]
    lines += ["| metric | value | target | pass/miss |", "|---|---|---|---|"]
    for x in results["metrics"]:
        verdict = {True: "pass", False: "**miss**", None: "—"}[x["pass"]]
        value = f"{fmt(x['value'])} {x['unit']}".rstrip()
        lines.append(f"| {x['label']} | {value} | {x['target'] or '—'} | "
                     f"{verdict} |")
    if results["errors"]:
        lines += ["", "Errors:"] + [f"- {e}" for e in results["errors"]]
    return "\n".join(lines) + "\n"


def soak_markdown(results):
    lines = [f"Soak run, {results['date']}, {results['duration_s']:.0f} s at "
             f"{results['rps']} RPS spin {results['spin_ms']} ms, samples "
             f"every {results['interval_s']} s", "",
             "| process | metric | first | last | max | growth |",
             "|---|---|---|---|---|---|"]
    for who in ("worker", "driver"):
        g = results["growth"][who]
        lines.append(f"| {who} | RSS MiB | {mib(g['rss_first']):.2f} | "
                     f"{mib(g['rss_last']):.2f} | {mib(g['rss_max']):.2f} | "
                     f"{mib(g['rss_growth']):+.2f} |")
        lines.append(f"| {who} | open fds | {g['fds_first']} | {g['fds_last']}"
                     f" | {g['fds_max']} | {g['fds_growth']:+d} |")
    s = results["driver_summary"]
    lines += ["", f"Driver: scheduled {s['scheduled']}, success {s['success']}"
              f", failure {s['failure']}, dropped {s['dropped']}, latency p99 "
              f"{s['latency_ms']['p99']} ms, lag p99 {s['lag_ms']['p99']} ms"]
    return "\n".join(lines) + "\n"


def write_outputs(out_dir, stem, results, md):
    os.makedirs(out_dir, exist_ok=True)
    for ext, text in (("json", json.dumps(results, indent=2) + "\n"),
                      ("md", md)):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def git_commit():
    try:
        return subprocess.run(
            ["git", "-C", os.path.dirname(os.path.abspath(__file__)),
             "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    h2 = shutil.which("h2load")
    version = None
    if h2:
        version = subprocess.run([h2, "--version"], capture_output=True,
                                 text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "kernel": platform.release(),
            "loadavg_at_start": os.getloadavg(),
            "commit": git_commit(), "h2load": version}


# ---------------------------------------------------------------- modes

FULL = {"table_rates": [1000, 5000, 10000, 20000],
        # "Highest sustained": every rate of the table, then up until a miss.
        "ladder": [1000, 5000, 10000, 20000, 30000, 40000, 50000, 60000, 80000,
                   100000],
        "runs": 3, "step_s": 5, "cpu_run_s": 10, "window": (2.0, 8.0),
        "overload_s": 30, "recover_s": 10, "h2load_calls": 200000,
        "spin_runs": [(1, 100, 5), (10, 20, 5), (100, 5, 8)],
        "cold_runs": 20}
QUICK = {"table_rates": [1000, 2000], "ladder": [1000, 2000], "runs": 1,
         "step_s": 1, "cpu_run_s": 3, "window": (1.0, 2.5),
         "overload_s": 2, "recover_s": 1, "h2load_calls": 20000,
         "spin_runs": [(1, 100, 1), (10, 20, 1)], "cold_runs": 3}


class Ctx:
    pass


def wait_for_quiet(max_load, max_wait_s):
    """Waits, bounded, until the 1-minute load average is below max_load;
    returns what it was when the wait ended."""
    deadline = time.monotonic() + max_wait_s
    load = os.getloadavg()[0]
    while load >= max_load and time.monotonic() < deadline:
        log(f"bench: 1-minute load average {load:.2f} >= {max_load}; "
            f"waiting (at most {deadline - time.monotonic():.0f} s more)")
        time.sleep(min(15, max(0.0, deadline - time.monotonic())))
        load = os.getloadavg()[0]
    return load


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
    out = os.path.join(ctx.workdir, "soak.csv")
    summary = os.path.join(ctx.workdir, "soak.json")
    proc = spawn([ctx.driver, "--bind=127.0.0.1",
                  f"--target=127.0.0.1:{ctx.worker.grpc_port}",
                  f"--rps={args.soak_rps}", f"--duration={seconds}s",
                  f"--spin-ms={args.soak_spin_ms}", f"--out={out}",
                  f"--summary={summary}", "--metrics-port=0",
                  "--progress-interval=1h"],
                 os.path.join(ctx.workdir, "soak-driver.log"))
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
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not text or not m:
        raise argparse.ArgumentTypeError(f"bad duration \"{text}\" (e.g. 10m)")
    h, mnt, s = (int(g) if g else 0 for g in m.groups())
    total = h * 3600 + mnt * 60 + s
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
                "worker_rps_h2load_c1_m10", "driver_max_sustained_rps",
                "driver_cpu_us_1000", "overhead_p50_us_1000",
                "driver_cpu_us_top", "runs_clean_top",
                "peer_h2load_cpu_us_top", "driver_vs_h2load_cpu_ratio",
                "overload_then_clean", "overload_worker_thread_growth"]
    required += [f"spin_error_p99_us_{ms}ms" for ms, _, _ in
                 (QUICK if r["mode"] == "quick" else FULL)["spin_runs"]]
    columns = ["on_time_share", "answered_share", "lag_p50_ms", "lag_p99_ms",
               "lag_max_ms", "driver_cpu_us", "worker_cpu_us",
               "driver_rss_mib", "worker_rss_mib", "h2load_cpu_us",
               "h2load_worker_cpu_us", "h2load_answered_share"]
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
    by_id = {m["id"]: m for m in r["metrics"]}
    missing = [k for k in required
               if k not in by_id or by_id[k]["value"] is None]
    if missing or r["errors"]:
        raise BenchError(f"missing metrics {missing}; errors {r['errors']}")
    for k in required:
        if by_id[k]["label"] not in md:
            raise BenchError(f"latest.md lacks the row of {k}")


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
