"""The sweep itself: the plan run through a backend, one record per run, the Prometheus
series of each run's window, the analysis; and whatever ends it (the end of the plan, a
threshold, an error, SIGINT, SIGTERM) leaves the records saying so and nothing running."""

import csv
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from . import procs
from .console import RunFailed, UsageError, error_line, log, say, tail, warn
from .durations import hms
from .options import ROOT
from .podwatch import PodsFailed
from .progress import SweepClock, Ticker
from .records import SweepRecord, utc_now
from .runstats import RunStats, read_stats
from .settings import Settings, as_json

COLLECT = os.path.join(ROOT, "scripts", "collect_prometheus.sh")
ANALYZE = os.path.join(ROOT, "tools", "analyze_plot.py")


@dataclass
class Planned:
    """The plan's cost, as --dry-run and the first log line give it."""
    runs: int
    duration_s: int
    per_run_s: int  # beyond its load
    setup_s: int

    @property
    def total_s(self) -> int:
        return self.setup_s + self.runs * (self.duration_s + self.per_run_s)

    def line(self) -> str:
        return (f"{hms(self.total_s)} ({self.runs} runs x {self.duration_s}s of load = "
                f"{hms(self.runs * self.duration_s)}, plus about {hms(self.per_run_s)} per run "
                f"between runs and {hms(self.setup_s)} of setup; the analysis comes after)")


def run_start(csv_path: str, launch: float, end: float) -> Optional[float]:
    """The run's first intended send (epoch s) from its CSV; None when the CSV has none
    or its clock disagrees with ours (not inside [launch - 60, end])."""
    first = None
    try:
        with open(csv_path, newline="") as f:
            for row in csv.reader(f):
                if row and row[0].isdigit() and (first is None or int(row[0]) < first):
                    first = int(row[0])
    except OSError:
        return None
    if first is None or not launch - 60 <= first / 1000.0 <= end:
        return None
    return round(first / 1000.0, 3)


def holds_results(d: str) -> bool:
    """A sweep's results are in d, or in a directory right under it (a class's, with
    --autoscalers)."""
    def has(x: str) -> bool:
        return any(n.startswith("results-") and n.endswith(".csv") for n in os.listdir(x))
    return has(d) or any(has(os.path.join(d, n)) for n in os.listdir(d)
                         if os.path.isdir(os.path.join(d, n)))


def prepare_dir(d: str, s: Settings) -> Tuple[str, bool]:
    """The sweep directory d, created (with logs/); whether it existed. Never one that
    holds anything."""
    where = f"choose another {s.what('sweep_id')} or {s.what('outdir')}"
    if os.path.isdir(d) and os.listdir(d):
        if holds_results(d):
            raise UsageError(f"{d} already holds results; {where}")
        raise UsageError(f"{d} is not empty (it holds no results: remove it), or {where}")
    existed = os.path.isdir(d)
    try:
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the sweep directory {d} ({s.what('outdir')}): "
                         f"{e.strerror}")
    if not (os.access(d, os.W_OK) and os.access(os.path.join(d, "logs"), os.W_OK)):
        raise UsageError(f"cannot write to the sweep directory {d} ({s.what('outdir')})")
    return os.path.abspath(d), existed


class Sweep:
    def __init__(self, s: Settings, backend, points: List, conf: dict, planned: Planned,
                 directory: str = "", name: str = ""):
        self.s, self.backend, self.points, self.planned = s, backend, points, planned
        self.conf = conf  # the settings and provenance lines sweep.conf starts with
        # Where it goes (OUTDIR/<sweep-id>, or a class's directory under it) and its name.
        self.target = directory or os.path.join(s.outdir, s.sweep_id)
        self.name = name or s.sweep_id
        self.dir, self.existed = "", False
        self.record: Optional[SweepRecord] = None
        self.started_runs = self.collect_failures = 0
        self.finished = self.torn_down = False
        self.last_index = 0
        self.stopped = ""
        self.keep_logs = False  # the error names a log: keep it, even before the first run
        self.error = ""  # the one line that ended the sweep, if one did

    def names(self, point) -> dict:
        """The run's files by role: the plan's and the backend's own (local: traces)."""
        return dict(point.files(), **self.backend.run_files(point))

    def files(self, point) -> dict:
        return {k: os.path.join(self.dir, v) for k, v in self.names(point).items()}

    def execute(self) -> int:
        """The whole sweep; its exit status. Ends every child whatever happens."""
        if not os.access(COLLECT, os.X_OK):
            raise UsageError(f"{COLLECT} is missing or not executable")
        for tool in ("curl", "jq"):
            if not shutil.which(tool):
                raise UsageError(f"{tool} not found on PATH (collect_prometheus.sh needs it; "
                                 "scripts/install_deps.sh installs it)")
        if not self.s.no_analyze and not os.path.isfile(ANALYZE):
            raise UsageError("tools/analyze_plot.py is missing (or pass --no-analyze)")
        self.dir, self.existed = prepare_dir(self.target, self.s)
        rc = 2
        try:
            procs.on_signals(self._on_signal)
            rc = self._sweep()
        except procs.Interrupted as e:
            rc = e.exit_status
        except (UsageError, RunFailed, procs.StartError) as e:
            error_line(str(e))
            self.error = str(e)
            self.keep_logs = isinstance(e, PodsFailed)
            rc = 2
        finally:
            self._cleanup(rc)
        return rc

    def _on_signal(self, signum: int) -> None:
        # A second signal while this one unwinds the sweep ends it at once (the children
        # still get their parent-death signal), as a shell script's would.
        procs.default_signals()
        log(("interrupted" if signum == signal.SIGINT else "terminated") +
            "; stopping what this sweep started")
        raise procs.Interrupted(signum)

    def _sweep(self) -> int:
        s = self.s
        self.record = SweepRecord(self.dir)
        self.record.start({"id": self.name, "dir": self.dir, "mode": s.mode},
                          as_json(s), dict(self.conf, sweep_dir=self.dir))
        log(f"sweep {self.name}: {len(self.points)} runs ({s.mode} mode) -> {self.dir}; "
            f"planned time {self.planned.line()}")
        self.backend.setup()
        described = self.backend.describe()
        system = self.backend.system_record()
        extra = {"serving_config": json.dumps(system["serving_config"], separators=(",", ":"))} \
            if system.get("serving_config") else {}
        self.record.set_conf(dict({"prom_url": self.backend.prom_url}, **described, **extra))
        self.record.set_system(system)
        clock = SweepClock(len(self.points), s.duration_s + self.planned.per_run_s)
        for point in self.points:
            self.last_index = point.index
            if not self._run(point, clock):
                break
        self.torn_down = True
        self.backend.teardown()
        replay = self.backend.replay_check(s.kpa_model_bin)
        if replay:
            log(f"live vs replayed decisions: {replay}")
            self.record.set_conf({"replay_check": replay})
        self.finished = True
        if self.stopped:
            say(f"sweep stopped early: {self.stopped}")
            self.record.set_status("stopped", stopped_at=self.last_index,
                                   stopped_because=self.stopped, finished_utc=utc_now())
        else:
            self.record.set_status("complete", finished_utc=utc_now())
        return self._analyse()

    def _run(self, point, clock: SweepClock) -> bool:
        """One run, recorded; False when the sweep stops after it."""
        s, total, f = self.s, len(self.points), self.files(point)
        tag = f"run {point.index}/{total}"
        since = time.monotonic()
        try:
            idle = self.backend.wait_idle(s.rate_window_s)
        except PodsFailed as e:
            raise PodsFailed(f"before {tag} ({point.name}): {e}")
        if not idle:
            warn(f"{tag} ({point.name}) starts without the idle state confirmed; it is flagged "
                 "in the report")
        rep = f" repeat {point.repeat}/{s.repeat}" if s.repeat > 1 else ""
        log(f"{tag}: rps={point.rps} spin={point.spin_ms}ms{rep} for {s.duration_s}s "
            f"({s.warmup_s}s warm-up; waited {int(time.monotonic() - since)}s for idle)")
        launch = time.time()
        rec = self.record.begin_run(point, {"kind": "constant", "rps": point.rps,
                                            "spin_ms": point.spin_ms,
                                            "duration_s": s.duration_s, "warmup_s": s.warmup_s},
                                    launch, idle, self.names(point))
        self.started_runs += 1
        try:
            with Ticker(self.backend.progress_lines, point, clock, s.duration_s):
                self.backend.run(point, f["csv"], f["summary"])
        except PodsFailed as e:
            raise PodsFailed(f"{tag} ({point.name}) stopped: {e}")
        except RunFailed:
            raise RunFailed(f"{tag} ({point.name}) could not be completed; see "
                            f"{os.path.join(self.dir, 'logs')}")
        end = time.time()
        first = run_start(f["csv"], launch, end)
        start = first if first is not None else round(launch, 3)
        collected = self._collect(point, f, start, end)
        st = read_stats(f["summary"], float(s.fail_threshold))
        say(f"{tag} rps={point.rps} spin={point.spin_ms}ms ok={st.ok} failed={st.failed} "
            f"p95={st.p95_text}" + (f" thresholds violated: {','.join(st.violated)}"
                                    if st.violated else ""))
        clock.run_ended(point.index)
        status = self._verdict(point, tag, st)
        self.record.end_run(rec, status, collect=collected, counts=st.as_json(),
                            intended_start=first,
                            intended_end=None if first is None else first + s.duration_s,
                            window={"start": start, "end": round(end, 3)})
        return not self.stopped

    def _verdict(self, point, tag: str, st: RunStats) -> str:
        """How the run ended (its status in runs.json and runs.csv); sets self.stopped
        when the sweep ends after it."""
        s = self.s
        if st.exceeded:
            self.stopped = (f"{tag} ({point.name}) failed {st.failed} of {st.scheduled} requests "
                            f"(ratio {st.ratio:.4f} > FAIL_THRESHOLD {s.fail_threshold})")
            log(f"stopping the sweep: {self.stopped}")
            return "over_fail_threshold"
        if st.violated:  # marked whether or not the sweep stops for it
            if s.stop_on_threshold:
                self.stopped = (f"{tag} ({point.name}) violated --threshold "
                                f"{','.join(st.violated)}")
                log(f"stopping the sweep (--stop-on-threshold): {self.stopped}")
            return "threshold"
        return "ok"

    def _collect(self, point, f: dict, start: float, end: float) -> str:
        """The run's Prometheus series over [start, end] (collect_prometheus.sh)."""
        r = procs.run([COLLECT, self.backend.prom_url, f"{start:.3f}", f"{end:.3f}",
                       f["prometheus"], "--mode", self.backend.collect_mode, "--rate-window",
                       f"{self.s.rate_window_s}s"], log_path=f["collect_log"])
        if r.returncode == 0:
            return "ok"
        self.collect_failures += 1
        try:
            with open(f["collect_log"], errors="replace") as fh:
                last = (fh.read().strip().splitlines() or [""])[-1]
        except OSError:
            last = ""
        warn(f"collect_prometheus.sh failed for {point.name}: {last}")
        return "failed"

    def _analyse(self) -> int:
        s, total = self.s, len(self.points)
        if not s.no_analyze:
            log(f"analysing {self.dir}")
            args = [sys.executable, ANALYZE, self.dir]
            # The KPA model's pods for each run, next to the measured pods, with the
            # settings the backend ran (local serving: its own, else the manifest's): the
            # analysis reads them from runs.json (system.kpa_model_args).
            if self.backend.analysis_model_args() is not None and s.kpa_model_bin and \
                    os.access(s.kpa_model_bin, os.X_OK):
                args += ["--kpa-model", s.kpa_model_bin]
            analyze_log = os.path.join(self.dir, "logs", "analyze.log")
            if procs.run(args, log_path=analyze_log).returncode != 0:
                tail(analyze_log, 20)
                raise UsageError(f"tools/analyze_plot.py failed; see {analyze_log}")
        say(f"results: {self.dir} ({self.last_index} of {total} runs)")
        if not s.no_analyze:
            say(f"report: {os.path.join(self.dir, 'report.html')}")
        if self.collect_failures:
            raise UsageError(f"{self.collect_failures} run(s) have no Prometheus series; see "
                             f"{self.dir}/logs/collect-*.log")
        return 0

    def _cleanup(self, rc: int) -> None:
        """Whatever ended the sweep: the run in progress recorded, every child stopped,
        the records marked partial; a sweep that ended before its first run leaves
        nothing behind (the same --sweep-id works again at once)."""
        procs.default_signals()
        rec = self.record.current if self.record else None
        if rec is not None:
            self.record.end_run(rec, "interrupted" if rc in (130, 143) else "error")
        if not self.torn_down:
            self.torn_down = True
            try:
                self.backend.teardown()
            except Exception as e:  # noqa: BLE001 - the records still get marked
                log(f"teardown reported an error: {e}")
        if self.finished or self.record is None:
            return
        if self.started_runs == 0 and rc != 0 and not self.keep_logs:
            self._forget()
            return
        why = {130: "interrupted (SIGINT)", 143: "terminated (SIGTERM)"}.get(
            rc, f"failed (exit {rc})")
        self.record.set_status("partial", partial_because=f"{why} after {self.started_runs} of "
                                                         f"{len(self.points)} runs started"
                                                         + (f": {self.error}" if self.error
                                                            else ""),
                               ended_utc=utc_now())

    def _forget(self) -> None:
        shutil.rmtree(os.path.join(self.dir, "logs"), ignore_errors=True)
        for name in ("sweep.conf", "runs.csv", "runs.json"):
            if os.path.exists(os.path.join(self.dir, name)):
                os.unlink(os.path.join(self.dir, name))
        if not self.existed:
            try:
                os.rmdir(self.dir)
            except OSError:
                pass
        log(f"removed {self.dir}: the sweep ended before its first run")
