"""Fixed pods (--local-pods N): N worker processes on loopback, no autoscaler. Each run
has N drivers, driver i aimed at worker i at RPS/N."""

import os
import re
from typing import Dict, List, Optional, Tuple

from . import net
from .console import log
from .podwatch import check_exited
from .procs import Children


class FixedPods:
    kind = "fixed pods"

    def __init__(self, settings, sut):
        self.s, self.sut = settings, sut
        self.n = sut.pods
        self.targets: List[str] = []  # gRPC address of each worker
        self.metrics_ports: List[int] = []
        self.workers: List = []  # their processes
        self.trace_args: List[str] = []  # where the workers export spans (tracing on)

    def plan_conf(self) -> Dict[str, str]:
        return {"system": "fixed pods", "workers": str(self.n)}

    def planned_extra_s(self) -> Tuple[int, int]:
        """Seconds beyond the generic estimate: per run, and once at setup."""
        return 0, 0

    def resolve(self) -> None:
        """Nothing to resolve: the workers take their flags as they are."""

    def binaries(self) -> List[tuple]:
        return [("worker", self.s.worker_bin)]

    def start(self, children: Children, ports: net.Ports, tmp: str, logs: str) -> None:
        for i in range(1, self.n + 1):
            grpc, metrics = ports.take(), ports.take()
            self.targets.append(f"127.0.0.1:{grpc}")
            self.metrics_ports.append(metrics)
            # The port flags win over any PORT/GRPC_PORT/METRICS_PORT in our environment.
            child = children.spawn(
                f"worker-{i}", [self.s.worker_bin, "--bind", "127.0.0.1", "--grpc-port",
                                str(grpc), "--metrics-port", str(metrics), "--shutdown-grace",
                                "5s", *self.s.worker_args, *self.trace_args],
                os.path.join(logs, f"worker-{i}.log"), env=dict(os.environ, POD_NAME=f"worker-{i}"))
            self.workers.append(child)
            log(f"started worker-{i} (pid {child.pid}) gRPC 127.0.0.1:{grpc}, metrics :{metrics}")

    def stop(self) -> None:
        """The workers stopped before the rest of the teardown."""
        for child in self.workers:
            child.stop()

    def scrape_configs(self) -> List[dict]:
        return [{"job_name": "worker", "static_configs": [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"pod": f"worker-{i}"}}
            for i, port in enumerate(self.metrics_ports, start=1)]}]

    def wait_ready(self) -> None:
        for child, target, metrics in zip(self.workers, self.targets,
                                          self.metrics_ports):
            grpc = int(target.rsplit(":", 1)[1])
            child.wait_ready(lambda: net.listening(grpc) and
                             net.http_ok(f"http://127.0.0.1:{metrics}/healthz"), 30)

    def scraped_when_ready(self) -> Tuple[str, int]:
        """The Prometheus job, and how many of its targets, up before the first run."""
        return "worker", self.n

    def ready_line(self) -> str:
        return f"local backend ready: {self.n} fixed worker(s), Prometheus scraping every 1s"

    @property
    def idle_what(self) -> str:
        return "the workers to finish every call in flight"

    def idle_timeout(self) -> float:
        return self.s.local_idle_timeout or 60

    def check(self) -> None:
        """PodsFailed when a worker exited: nobody restarts a fixed pod."""
        check_exited(self.workers)

    def idle(self) -> bool:
        """Every worker's own /metrics says no call is in flight."""
        self.check()
        return all(_inflight(net.http_get(f"http://127.0.0.1:{p}/metrics")) == 0
                   for p in self.metrics_ports)

    def after_run(self, prom: net.Prometheus) -> None:
        """A run of fixed pods ends with its drivers."""

    def describe(self) -> Dict[str, str]:
        n = self.n
        return {"system_under_test": f"fixed pods: {n} worker process(es) on this machine, "
                                     "no autoscaler in the loop",
                "autoscaling": f"none: {n} fixed worker process(es), no autoscaler in the loop",
                "autoscaling_source": f"local mode with --local-pods {n} (fixed workers)",
                "worker_flags": " ".join(["--bind 127.0.0.1 --shutdown-grace 5s",
                                          *self.s.worker_args, *self.trace_args])}

    def kpa_model_args(self) -> List[str]:
        """What Knative would have done: the KPA model with the manifest's settings."""
        return ["--from-manifest", self.sut.model_manifest]

    def analysis_model_args(self) -> Optional[List[str]]:
        return self.kpa_model_args()

    def replay_check(self, kpa_model: str) -> Optional[str]:
        return None


def _inflight(metrics: Optional[bytes]) -> Optional[float]:
    """worker_inflight_requests from a /metrics page (None: no page, or no such line)."""
    if metrics is None:
        return None
    m = re.search(rb"^worker_inflight_requests (\S+)$", metrics, re.M)
    return float(m.group(1)) if m else None
