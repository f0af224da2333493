"""One local run: its drivers (fixed pods: one per worker at RPS/N; local serving: one,
aimed at local_serving), until Prometheus holds their final numbers; then the files."""

import json
import os
import time
from dataclasses import dataclass
from typing import List, Optional

from . import merge, net, traces
from .console import RunFailed, log, tail, warn
from .podwatch import PodsFailed
from .procs import Child, wait_for


@dataclass
class Driver:
    index: int  # 1-based
    share: int  # its requests/s
    port: int  # its metrics port
    out: str
    summary: str
    log: str
    trace_out: str = ""  # its spans (tracing on)
    child: Optional[Child] = None

    @property
    def name(self) -> str:
        return f"load_driver-{self.index}"

    def scheduled(self) -> Optional[int]:
        try:
            with open(self.summary) as f:
                return int(json.load(f)["scheduled"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def wrote(self) -> bool:
        return all(os.path.isfile(p) and os.path.getsize(p) > 0 for p in (self.out, self.summary))


def trace_file(b, point, csv_out: str) -> str:
    """The run's driver trace file, next to its CSV ("" when tracing is off)."""
    name = traces.run_files(b.s, point.name).get("traces")
    return os.path.join(os.path.dirname(csv_out), name) if name else ""


def plan_drivers(b, point, csv_out: str, summary_out: str) -> List[Driver]:
    """Each driver's share of the rate (the remainder spread one request/s at a time:
    20 rps on 3 workers is 7 + 7 + 6) and files; one driver writes the run's own."""
    n = len(b.system.targets)
    if point.rps < n:
        raise RunFailed(f"rps={point.rps} is below the number of workers ({n}): each driver "
                        "needs at least 1 request/s")
    drivers = []
    spans = trace_file(b, point, csv_out)
    for i in range(n):
        out, summ, tr = (csv_out, summary_out, spans) if n == 1 else (
            os.path.join(b.tmp, f"run-driver{i + 1}.csv"),
            os.path.join(b.tmp, f"run-driver{i + 1}.json"),
            os.path.join(b.tmp, f"run-driver{i + 1}-traces.jsonl") if spans else "")
        for stale in (() if n == 1 else (out, summ, tr)):
            if stale and os.path.exists(stale):
                os.unlink(stale)
        drivers.append(Driver(i + 1, point.rps // n + (1 if i < point.rps % n else 0),
                              b.driver_ports[i], out, summ,
                              os.path.join(b.logs, f"load_driver-{i + 1}-{point.name}.log"),
                              tr))
    return drivers


def driver_argv(s, rps: int, spin_ms: int, target: str, out: str, summary: str,
                port: int, trace_out: str = "") -> List[str]:
    """A local driver's command line (preflight.py has the driver check it)."""
    extra = ([f"--threshold={','.join(s.thresholds)}"] if s.thresholds else []) + \
        traces.driver_flags(s, trace_out) + list(s.driver_args)
    return [s.driver_bin, "--bind", "127.0.0.1", "--target", target, "--rps", str(rps),
            "--spin-ms", str(spin_ms), "--duration", f"{s.duration_s}s", "--warmup",
            f"{s.warmup_s}s", "--out", out, "--summary", summary, "--metrics-port", str(port),
            "--linger", f"{s.local_linger_s}s", "--progress-interval", "1s", *extra]


def start(b, point, d: Driver, target: str) -> None:
    # POD_NAME names the driver in its spans' resource (k8s.pod.name), as its Prometheus
    # label does: with several drivers their seq numbers repeat.
    d.child = b.children.spawn(d.name, driver_argv(b.s, d.share, point.spin_ms, target, d.out,
                                                   d.summary, d.port, d.trace_out), d.log,
                               env=dict(os.environ, POD_NAME=f"load-driver-{d.index}"))
    log(f"started {d.name} (pid {d.child.pid}) at {d.share} rps -> {target}, metrics :{d.port}")


def wait_final_scrape(b, d: Driver, end: float) -> None:
    """Prometheus must hold the driver's final numbers before the run's window is
    collected: a sample of scheduled_total == the summary's, scraped after the end."""
    scheduled = d.scheduled()
    if scheduled is None:
        return
    if not d.child.alive():
        warn(f"{d.name} exited before Prometheus could scrape its final numbers")
        return
    if not wait_for(lambda: b.prom.driver_final("instance", f"127.0.0.1:{d.port}", scheduled,
                                                end), 15,
                    f"Prometheus to scrape {d.name}'s final count"):
        warn("the run's last second may be missing from prometheus-*.json")


def finished(b, d: Driver) -> bool:
    """The driver is done (or gone); PodsFailed at once when the pods cannot run."""
    b.system.check()
    return not d.child.alive() or net.http_ok(f"http://127.0.0.1:{d.port}/done")


def run_point(b, point, csv_out: str, summary_out: str) -> None:
    s = b.s
    drivers = plan_drivers(b, point, csv_out, summary_out)
    if b.receiver is not None:
        b.receiver.begin(os.path.join(os.path.dirname(csv_out),
                                      traces.run_files(s, point.name)["pod_traces"]))
    for d, target in zip(drivers, b.system.targets):
        start(b, point, d, target)
    ok = True
    # The run itself, bounded by its duration plus a margin for draining in-flight calls
    # (the driver's own call timeout is 30 s).
    try:
        for d in drivers:
            ok = wait_for(lambda: finished(b, d), s.duration_s + s.warmup_s + 90,
                          f"{d.name} to finish its run") and ok
    except PodsFailed:
        # The drivers' calls wait for pods that will not come (local serving's activator
        # holds them up to their deadline): stopping the system first answers them, so
        # that each driver writes every row at once instead of draining for 30 s.
        b.system.stop()
        for d in drivers:
            d.child.stop(15)
        raise
    end = time.time()
    b.last_end = end
    for d in drivers:
        wait_final_scrape(b, d, end)
    for d in drivers:
        d.child.stop(15)
        if not d.wrote():
            log(f"{d.name} left no CSV or summary ({d.out}, {d.summary})")
            tail(d.log)
            ok = False
    b.children.forget_exited()
    if not ok:
        raise RunFailed("a driver did not finish its run")
    b.system.after_run(b.prom)
    if len(drivers) > 1:
        try:
            merge.merge(str(point.rps), csv_out, summary_out, [d.out for d in drivers],
                        [d.summary for d in drivers])
            if drivers[0].trace_out:
                traces.concatenate([d.trace_out for d in drivers], trace_file(b, point, csv_out))
        except (merge.MergeError, OSError, ValueError) as e:
            raise RunFailed(f"cannot merge the drivers' files: {e}")
