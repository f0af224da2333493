"""What a sweep records as it goes, every file replaced atomically (a sweep killed at any
moment leaves the old or the new version, never half of one):

- runs.json: the sweep's resolved settings and system under test, and one record per run
  (its grid point, repeat, schedule, times, files, status and the driver's counts): what
  the analysis reads for each run's identity;
- sweep.conf: key=value lines, each key once (the original's analyze_plot.py and older
  tools read it);
- runs.csv: one line per run that ended, with how it ended.
"""

import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from .plan import RunPoint

FORMAT = "knbench-sweep-runs/1"
RUNS_CSV_HEADER = "index,repeat,rps,spin_ms,name,idle,launch,status,start,end,collect"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass
class RunRecord:
    index: int
    rps: int
    spin_ms: int
    repeat: int
    name: str
    schedule: Dict[str, Any]
    files: Dict[str, Any]
    launch: float
    idle_confirmed: bool
    # then ok | over_fail_threshold | threshold (a --threshold violated) | error | interrupted
    status: str = "running"
    collect: Optional[str] = None  # ok | failed; None: never got there
    intended_start: Optional[float] = None  # the first intended send (epoch s)
    intended_end: Optional[float] = None  # intended_start + the run's duration
    window: Optional[Dict[str, float]] = None  # what the Prometheus series cover
    counts: Optional[Dict[str, Any]] = None  # the driver's (summary.json)
    ended: Optional[float] = None

    def csv_line(self) -> str:
        w = self.window or {}
        return ",".join([str(self.index), str(self.repeat), str(self.rps), str(self.spin_ms),
                         self.name, "yes" if self.idle_confirmed else "no", f"{self.launch:.3f}",
                         self.status, _epoch(w.get("start")), _epoch(w.get("end")),
                         self.collect or ""])


def _epoch(t: Optional[float]) -> str:
    return "" if t is None else f"{t:.3f}"


@dataclass
class SweepRecord:
    """The sweep directory's records; every change is written at once."""
    directory: str
    doc: Dict[str, Any] = field(default_factory=dict)
    conf: Dict[str, str] = field(default_factory=dict)
    runs: List[RunRecord] = field(default_factory=list)

    def start(self, sweep: Dict[str, Any], settings: Dict[str, Any], conf: Dict[str, str]) -> None:
        self.doc = {"format": FORMAT, "sweep": dict(sweep, status="running",
                                                   started_utc=utc_now()),
                    "settings": settings, "system": {}, "runs": []}
        write_atomic(self.path("runs.csv"), RUNS_CSV_HEADER + "\n")
        self.set_conf(dict(conf, started_utc=self.doc["sweep"]["started_utc"],
                           status="running"))

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def set_conf(self, pairs: Dict[str, str]) -> None:
        """Keys already there keep their place and get the new value; new ones go last."""
        self.conf.update(pairs)
        write_atomic(self.path("sweep.conf"), "".join(f"{k}={v}\n" for k, v in self.conf.items()))

    def set_system(self, system: Dict[str, Any]) -> None:
        self.doc["system"] = system
        self.write_json()

    def set_status(self, status: str, **why: Any) -> None:
        """running -> complete | stopped | partial, with why (and when) in both files."""
        sweep = self.doc["sweep"]
        sweep["status"] = status
        sweep.update(why)
        self.write_json()
        self.set_conf(dict({"status": status}, **{k: str(v) for k, v in why.items()}))

    def begin_run(self, point: RunPoint, schedule: Dict[str, Any], launch: float,
                  idle: bool, files: Dict[str, str]) -> RunRecord:
        rec = RunRecord(point.index, point.rps, point.spin_ms, point.repeat, point.name,
                        schedule, files, launch, idle)
        self.runs.append(rec)
        self.write_json()
        return rec

    def end_run(self, rec: RunRecord, status: str, **fields: Any) -> None:
        rec.status = status
        rec.ended = time.time()
        for k, v in fields.items():
            setattr(rec, k, v)
        self.write_json()
        with open(self.path("runs.csv"), "a", encoding="utf-8") as f:
            f.write(rec.csv_line() + "\n")

    @property
    def current(self) -> Optional[RunRecord]:
        """The run in progress, if any."""
        return self.runs[-1] if self.runs and self.runs[-1].status == "running" else None

    def write_json(self) -> None:
        self.doc["runs"] = [asdict(r) for r in self.runs]
        write_atomic(self.path("runs.json"), json.dumps(self.doc, indent=1) + "\n")
