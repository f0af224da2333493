"""One driver run or one h2load run, and what its files say: CPU per call
over a sampled window, latency overhead, the share sent on time and
answered."""
import csv
import json
import os
import re
import statistics
import subprocess
import time

from bench_procs import (BenchError, Sampler, Worker, spawn, stop, wait_exit,
                         whole_cost)

METHOD_PATH = "/load_worker.LoadWorker/InvokeWorker"


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


def median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values)


def ratio(a, b):
    """a / b, or None when either is unknown or b is 0."""
    return a / b if a is not None and b else None


def note_load(ctx):
    ctx.loads.append(os.getloadavg()[0])


def driver_args(ctx, port, name, rps, duration_s, spin_ms, extra=()):
    """The driver's command line for the run `name` against 127.0.0.1:`port`,
    and the CSV and summary it writes into the scratch directory."""
    out = os.path.join(ctx.workdir, f"{name}.csv")
    summary = os.path.join(ctx.workdir, f"{name}.json")
    args = [ctx.driver, "--bind=127.0.0.1", f"--target=127.0.0.1:{port}",
            f"--rps={rps}", f"--duration={duration_s}s",
            f"--spin-ms={spin_ms}", f"--out={out}", f"--summary={summary}",
            "--metrics-port=0", "--progress-interval=1h", *extra]
    return args, out, summary


def read_run(summary_path, csv_path):
    """A finished driver run: its summary and its rows (read once)."""
    with open(summary_path) as f:
        return json.load(f), read_csv(csv_path)


def sample_window(proc, start, window, pids, what):
    """Samples `pids` at each offset (seconds after `start`) of `window`;
    `proc` must still run then."""
    sampler = Sampler(pids)
    samples = []
    for offset in window:
        delay = start + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if proc.poll() is not None:
            raise BenchError(f"{what} ended before the sample")
        samples.append(sampler.take())
    return samples


def run_driver(ctx, name, rps, duration_s, spin_ms, warmup_s=0, window=None,
               extra_pids=None, extra_args=()):
    """One driver run to completion: (summary, rows, samples, whole), whole
    being the driver's CPU per call sent over its whole life. With
    window=(a, b), samples CPU/RSS of the driver (and extra_pids) a and b
    seconds after the driver started."""
    extra = [*extra_args, f"--warmup={warmup_s}s"] if warmup_s else extra_args
    args, out, summary = driver_args(ctx, ctx.worker.grpc_port, name, rps,
                                     duration_s, spin_ms, extra)
    start = time.monotonic()
    proc = spawn(args, os.path.join(ctx.workdir, f"{name}.log"))
    samples = []
    if window:
        samples = sample_window(proc, start, window,
                                {"driver": proc.pid, **(extra_pids or {})},
                                f"{name}: driver")
    try:
        code = wait_exit(proc, duration_s + 120)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise BenchError(f"{name}: driver did not finish")
    if code != 0:
        raise BenchError(f"{name}: driver exited {code}; see "
                         f"{os.path.join(ctx.workdir, name + '.log')}")
    s, rows = read_run(summary, out)
    return s, rows, samples, whole_cost(proc.cpu_s, s["sent"])


def run_costed(ctx, name, rate, duration_s, window=None, worker_args=(),
               driver_args_extra=()):
    """One driver run `name` at `rate` (spin 0) against a fresh worker
    started with `worker_args`: its schedule stats and, with a CPU `window`,
    the driver's and the worker's CPU per call over the window and over
    their whole lives, and the latency overhead."""
    worker = Worker(ctx.worker_bin, ctx.workdir, f"w-{name}", worker_args)
    try:
        ctx.worker = worker
        s, rows, samples, whole = run_driver(
            ctx, name, rate, duration_s, 0,
            warmup_s=window[0] if window else 0, window=window,
            extra_pids={"worker": worker.pid}, extra_args=driver_args_extra)
        run = run_stats(s, rows)
        if window:
            run["driver"] = window_cost(samples, "driver", rate)
            run["worker"] = window_cost(samples, "worker", rate)
            run["overhead"] = overhead(rows)
            run["driver_whole"] = whole
            run["worker_whole"] = worker.stop_counted()
    finally:
        worker.stop()
    return run


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


def overhead(rows):
    """End-to-end latency from actual send minus server-measured spin, µs,
    over the non-warm-up successes of a run's CSV rows."""
    vals = [int(r["latency_us"]) - int(r["server_spin_us"] or 0)
            for r in rows
            if r["status"] == "success" and r["warmup"] == "0"]
    return {"n": len(vals), "p50_us": percentile(vals, 50),
            "p99_us": percentile(vals, 99)}


def run_stats(summary, rows):
    """What one driver run (its summary and CSV rows) says about its
    schedule: the share sent on time (lag <= 1 ms, not dropped) and answered,
    lag percentiles, failures by gRPC code, and whether it was sustained
    (everything sent, lag p99 <= 1 ms, every call answered)."""
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
    samples = sample_window(proc, start, window,
                            {"h2load": proc.pid, "worker": worker.pid},
                            f"{name}: h2load")
    try:
        code = wait_exit(proc, duration_s + 60)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise BenchError(f"{name}: h2load did not finish")
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
            "h2load_whole": whole_cost(proc.cpu_s, counts["done"]),
            "counts": counts, "worker_grpc_successes": served,
            "answered_share": served / counts["total"]
            if counts["total"] else None,
            "cmd": " ".join(args)}
