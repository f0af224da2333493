"""What ran: the sweep's settings and provenance (sweep.conf), its runs and local serving's
resolved settings (runs.json; runs.csv for older sweeps), and which runs must be flagged
as incomplete, interrupted or failed."""

import csv
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from . import autoscaling, kpa
from .loading import Run, find_runs, read_driver_summary, read_runs_json
from .stats import AnalysisOptions, add_model_stats, analyze_run

DEFAULT_FAIL_THRESHOLD = 0.10


@dataclass
class RunRecord:
    """A run the sweep started, and how it ended (runs.json, or a line of runs.csv)."""
    index: int
    repeat: int
    rps: float
    spin_ms: float
    name: str
    idle: str  # yes | no: whether the idle state was confirmed before it
    status: str  # ok | over_fail_threshold | threshold | error | interrupted
    collect: str  # ok | failed | "" (never got there)
    # Its trace files (runs.json's files whose role ends in "traces"), in the sweep directory.
    traces: Tuple[str, ...] = ()


@dataclass
class SweepInfo:
    """sweep.conf (key=value lines) and runs.json (or runs.csv), all optional (hand-made or
    old sweeps)."""
    conf: Dict[str, str] = field(default_factory=dict)
    records: Dict[str, RunRecord] = field(default_factory=dict)  # by results file stem
    # local_serving --check-config --format=json, as the sweep recorded it (runs.json)
    serving_config: Optional[Dict[str, Any]] = None
    system: Dict[str, Any] = field(default_factory=dict)  # runs.json's system under test

    def get(self, key: str, default: str = "") -> str:
        return self.conf.get(key, default)

    @property
    def planned_runs(self) -> Optional[int]:
        try:
            return int(self.conf["runs"])
        except (KeyError, ValueError):
            return None

    @property
    def finished(self) -> bool:
        return "finished_utc" in self.conf and self.conf.get("status") != "partial"

    @property
    def fail_threshold(self) -> float:
        try:
            return float(self.conf.get("fail_threshold", DEFAULT_FAIL_THRESHOLD))
        except ValueError:
            return DEFAULT_FAIL_THRESHOLD


def read_sweep_info(results_dir: str) -> SweepInfo:
    info = SweepInfo()
    conf = os.path.join(results_dir, "sweep.conf")
    if os.path.isfile(conf):
        with open(conf, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    info.conf[key.strip()] = value.strip()  # a later line wins
    doc = read_runs_json(results_dir)
    if doc is not None:
        for r in doc["runs"]:
            rec = _record(r)
            if rec is not None:
                info.records[rec.name] = rec
        system = doc.get("system")
        if isinstance(system, dict):
            info.system = system
            if isinstance(system.get("serving_config"), dict):
                info.serving_config = system["serving_config"]
        return info
    runs = os.path.join(results_dir, "runs.csv")
    if os.path.isfile(runs):
        with open(runs, newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                try:
                    rec = RunRecord(index=int(row["index"]), repeat=int(row.get("repeat") or 1),
                                    rps=float(row["rps"]), spin_ms=float(row["spin_ms"]),
                                    name=row["name"], idle=row.get("idle") or "",
                                    status=row.get("status") or "",
                                    collect=row.get("collect") or "")
                except (KeyError, TypeError, ValueError):
                    continue
                info.records[rec.name] = rec
    return info


def _record(r: Any) -> Optional[RunRecord]:
    """A run record of runs.json (None: not one)."""
    try:
        idle = r.get("idle_confirmed")
        return RunRecord(index=int(r["index"]), repeat=int(r.get("repeat") or 1),
                         rps=float(r["rps"]), spin_ms=float(r["spin_ms"]), name=str(r["name"]),
                         idle="" if idle is None else ("yes" if idle else "no"),
                         status=str(r.get("status") or ""), collect=str(r.get("collect") or ""),
                         traces=tuple(str(v) for k, v in (r.get("files") or {}).items()
                                      if str(k).endswith("traces")))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def run_flags(run: Run, info: SweepInfo, summary: Dict[str, object]) -> List[str]:
    """Why a run's numbers must not be read as a complete, clean run (empty: nothing)."""
    flags = []
    rec = info.records.get(run.stem)
    if rec is not None:
        if rec.status in ("interrupted", "running"):  # running: the sweep was killed
            flags.append("interrupted")
        elif rec.status == "error":
            flags.append("could not be completed")
        if rec.idle == "no":
            flags.append("started without the idle state confirmed")
        if rec.collect == "failed":
            flags.append("Prometheus series not collected")
    if not summary:
        flags.append("no driver summary")
    else:
        scheduled = _int(summary.get("scheduled"))
        expected = sum(_float(p.get("expected")) for p in summary.get("phases") or []
                       if isinstance(p, dict))
        if expected and scheduled < expected - max(1.0, 0.001 * expected):
            flags.append(f"incomplete: {scheduled} of {expected:.0f} requests scheduled")
        failed = _int(summary.get("failure")) + _int(summary.get("dropped"))
        if scheduled and failed / scheduled > info.fail_threshold:
            flags.append(f"failed: {100.0 * failed / scheduled:.1f} % of requests failed or "
                         f"were dropped (threshold {100 * info.fail_threshold:g} %)")
        if summary.get("write_error"):
            flags.append(f"CSV write error: {summary['write_error']}")
        # Several drivers (--workers N): each judged its own share.
        bad = []
        for d in [summary] + [x for x in summary.get("drivers") or [] if isinstance(x, dict)]:
            for t in d.get("thresholds") or []:
                if isinstance(t, dict) and t.get("ok") is False and t.get("spec") not in bad:
                    bad.append(t.get("spec"))
        if bad:
            flags.append("thresholds violated: " + ", ".join(str(b) for b in bad))
    if run.stats is not None and run.stats.malformed:
        flags.append(f"{run.stats.malformed} malformed CSV rows")
    return flags


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def analyze_sweep(results_dir: str, opts: AnalysisOptions, model: str = "",
                  model_args: Optional[List[str]] = None,
                  model_dir: str = "") -> Tuple[List[Run], SweepInfo]:
    """Every run of a sweep analysed (statistics, summary, flags; the KPA model when given).
    Raises InputError."""
    runs = find_runs(results_dir)
    info = read_sweep_info(results_dir)
    if model:
        os.makedirs(model_dir, exist_ok=True)
    for i, run in enumerate(runs, 1):
        print(f"analyze_plot.py: [{i}/{len(runs)}] {run.stem}", file=sys.stderr)
        analyze_run(run, opts)
        run.episode = autoscaling.episode(run)
        if run.episode is not None:
            for k in ("peak_ready", "panic_s", "first_latency_ms", "back_to_start_s"):
                setattr(run.stats, "peak_ready_pods" if k == "peak_ready" else k,
                        getattr(run.episode, k))
        if model:
            kpa.run_model(run, model, model_args or [], model_dir)
            add_model_stats(run)
        run.summary = read_driver_summary(run)
        run.flags = run_flags(run, info, run.summary)
    return runs, info
