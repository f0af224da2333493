"""The local backend: everything runs as local processes on loopback, with a real
Prometheus server scraping every 1 s and one load_driver per driver of each run. The
system under test is local serving (local_serving.py) or fixed pods (local_pods.py)."""

import ctypes
import glob
import os
import shutil
import subprocess
from typing import Dict, List, Optional, Tuple

import yaml

from . import net, procs, tmpdirs, traces
from .console import UsageError, log, warn
from .local_drivers import run_point
from .local_pods import FixedPods
from .local_serving import ServingSystem
from .procs import Children, sleep_until, wait_for

SCRAPE_S = 1
TMP_PREFIX = "knbench-local"


class LocalBackend:
    collect_mode = "local"

    def __init__(self, settings, sut, log_dir: str = ""):
        self.s, self.sut = settings, sut
        self.system = ServingSystem(settings, sut) if sut.kind == "local serving" \
            else FixedPods(settings, sut)
        self.children = Children()
        self.ports = net.Ports()
        self.log_dir = log_dir
        self.tmp = self.logs = ""
        self.prom: Optional[net.Prometheus] = None
        self.prom_url = ""
        self.receiver: Optional[traces.Receiver] = None  # the pods' spans (tracing on)
        self.driver_ports: List[int] = []
        self.last_end: Optional[float] = None  # when the previous run's traffic ended

    # --- before anything starts --------------------------------------------------------
    def plan(self) -> Dict[str, str]:
        """The backend's own settings (checked: local serving's --check-config when the
        binary is there), for --dry-run and sweep.conf."""
        conf = self.system.plan_conf()
        conf.update(worker_bin=self.s.worker_bin, driver_bin=self.s.driver_bin)
        return conf

    def planned_overhead(self) -> Tuple[int, int]:
        """Seconds per run beyond its load (the idle wait: rate window + one scrape; the
        final scrape and the collection; local serving: the scale back to idle), and of
        setup."""
        run_extra, setup_extra = self.system.planned_extra_s()
        return self.s.rate_window_s + 3 + run_extra, 5 + setup_extra

    def check_binaries(self) -> None:
        hints = {"local_serving": "build it, set --build-dir / LOCAL_SERVING_BIN, or use "
                                  "--local-pods N for fixed workers",
                 "worker": "build it, or set --build-dir / WORKER_BIN",
                 "load_driver": "build it, or set --build-dir / DRIVER_BIN"}
        for name, path in self.system.binaries() + [("load_driver", self.s.driver_bin)]:
            if not (path and os.path.isfile(path) and os.access(path, os.X_OK)):
                raise UsageError(f"{name} binary not found or not executable: '{path or ''}' "
                                 f"({hints[name]})")
        if traces.traced(self.s):
            try:
                ctypes.CDLL(traces.LIBCURL)
            except OSError:
                raise UsageError(f"--trace-sample-rate {self.s.trace_sample_rate}: the pods "
                                 f"export their spans with {traces.LIBCURL} (Debian package "
                                 "'libcurl4'), which cannot be loaded; install it or pass "
                                 "--trace-sample-rate 0")
        if not shutil.which("prometheus"):
            raise UsageError("prometheus not found on PATH (Debian package 'prometheus'; "
                             "scripts/install_deps.sh installs it)")

    # --- setup ------------------------------------------------------------------------
    def setup(self) -> None:
        self.check_binaries()
        self.system.resolve()
        if self.s.prom_url:
            warn(f"local mode runs its own Prometheus; ignoring PROM_URL={self.s.prom_url}")
        self.tmp = tmpdirs.make(TMP_PREFIX)
        self.logs = self.log_dir or self.tmp
        os.makedirs(self.logs, exist_ok=True)
        if traces.traced(self.s):
            self.receiver = traces.Receiver(self.ports.take())
            self.system.trace_args = [f"--otlp-endpoint={self.receiver.url}"]
            log(f"receiving the pods' spans at {self.receiver.url}")
        self.system.start(self.children, self.ports, self.tmp, self.logs)
        self.driver_ports = [self.ports.take() for _ in self.system.targets]
        prometheus = self._start_prometheus()
        self.system.wait_ready()
        prometheus.wait_ready(self.prom.ready, 30)
        # The first run's window should start with everything already scraped.
        job, count = self.system.scraped_when_ready()
        prometheus.wait_ready(lambda: self.prom.targets_up(job, count), 30)
        log(self.system.ready_line())

    def _prometheus_config(self) -> dict:
        drivers = [{"targets": [f"127.0.0.1:{p}"], "labels": {"pod": f"load-driver-{i}"}}
                   for i, p in enumerate(self.driver_ports, start=1)]
        return {"global": {"scrape_interval": f"{SCRAPE_S}s", "scrape_timeout": f"{SCRAPE_S}s",
                           "evaluation_interval": "1s"},
                "scrape_configs": self.system.scrape_configs() + [
                    {"job_name": "load_driver", "static_configs": drivers}]}

    def _start_prometheus(self) -> procs.Child:
        config = os.path.join(self.tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("# Generated by knbench_sweep's local backend for one sweep.\n")
            yaml.safe_dump(self._prometheus_config(), f, sort_keys=False)
        if shutil.which("promtool"):
            r = procs.run(["promtool", "check", "config", config], timeout=60)
            if r.returncode != 0:
                raise UsageError(f"generated Prometheus config is invalid: {config}")
        port = self.ports.take()
        self.prom_url = f"http://127.0.0.1:{port}"
        self.prom = net.Prometheus(self.prom_url)
        data = os.path.join(self.tmp, "prometheus-data")
        child = self.children.spawn(
            "prometheus", ["prometheus", f"--config.file={config}",
                           f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=1d",
                           f"--web.listen-address=127.0.0.1:{port}"],
            os.path.join(self.logs, "prometheus.log"))
        log(f"started prometheus (pid {child.pid}) at {self.prom_url}, data in {data}")
        return child

    # --- runs ---------------------------------------------------------------------------
    def wait_idle(self, gap_s: int) -> bool:
        """The system under test is idle, Prometheus no longer shows the previous driver,
        and gap_s plus one scrape have passed since the previous run's traffic ended: a
        gap_s rate window anywhere in the next run cannot see the previous run."""
        if self.prom is None:
            raise RuntimeError("wait_idle before setup")
        timeout = self.system.idle_timeout()
        ok = wait_for(self.system.idle, timeout, self.system.idle_what)
        if self.last_end is not None:
            sleep_until(self.last_end + gap_s + SCRAPE_S)
            ok = wait_for(self.prom.no_driver_series, timeout,
                          "Prometheus to mark the previous driver's series stale") and ok
        return ok

    def run(self, point, csv_out: str, summary_out: str) -> None:
        """One run to completion (RunFailed when it could not be done); returns once
        Prometheus holds its final numbers (local serving: and the scale back to idle)."""
        run_point(self, point, csv_out, summary_out)

    def run_files(self, point) -> Dict[str, str]:
        """The run's files beyond the plan's (its traces), in the sweep directory."""
        return traces.run_files(self.s, point.name)

    def progress_lines(self, name: str) -> List[str]:
        """The latest progress line of each driver of run `name`."""
        lines = []
        for path in sorted(glob.glob(os.path.join(self.logs, f"load_driver-[0-9]*-{name}.log"))):
            try:
                with open(path, errors="replace") as f:
                    last = [x for x in f if " elapsed " in x]
            except OSError:
                continue
            if last:
                lines.append(last[-1].rstrip("\n"))
        return lines

    # --- what ran -------------------------------------------------------------------------
    def describe(self) -> Dict[str, str]:
        out = self.system.describe()
        out["driver_flags"] = " ".join(
            [f"--bind 127.0.0.1 --linger {self.s.local_linger_s}s --progress-interval 1s"]
            + ([f"--threshold={','.join(self.s.thresholds)}"] if self.s.thresholds else [])
            + traces.driver_flags(self.s, "traces-<run>.jsonl")
            + list(self.s.driver_args))
        return out

    def system_record(self) -> Dict[str, object]:
        """The system under test as data (runs.json)."""
        config = getattr(self.system, "config", None)
        return {"kind": self.sut.kind,
                "class": config.autoscaler_class if config else self.sut.autoscaler_class,
                "manifest": self.sut.manifest, "manifest_source": self.sut.manifest_source,
                "serving_args": list(self.sut.serving_args),
                "pods": self.sut.pods, "serving_config": config.doc if config else None,
                "kpa_model_args": self.kpa_model_args()}

    def kpa_model_args(self) -> List[str]:
        """kpa_model's arguments for the settings this system ran (recorded; with local
        serving, those that replay its decisions)."""
        return self.system.kpa_model_args()

    def analysis_model_args(self) -> Optional[List[str]]:
        """The KPA model's arguments for each run's driver CSV in the analysis, or None
        when the model cannot say what this system would do from it (the HPA class)."""
        return self.system.analysis_model_args()

    def replay_check(self, kpa_model: str) -> Optional[str]:
        try:
            return self.system.replay_check(kpa_model)
        except (OSError, subprocess.SubprocessError) as e:
            return f"not checked: {e}"

    def teardown(self) -> None:
        """Stops exactly what setup and the runs started, newest first (any driver still
        running, Prometheus, then the workers or local_serving, which stops its pods);
        idempotent."""
        self.children.stop_all()
        if self.receiver is not None:  # after the pods: they flush their spans as they stop
            self.receiver.stop()
            self.receiver = None
        tmpdirs.remove(self.tmp, TMP_PREFIX)
        self.tmp = ""
        self.prom = None
        self.last_end = None
