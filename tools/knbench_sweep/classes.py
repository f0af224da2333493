"""The sweep under several autoscaler classes (--autoscalers kpa,hpa): the same plan run
under each class in turn, each into its own complete sweep directory
OUTDIR/<sweep-id>/<class>/ (its own setup and teardown: local serving is stopped and
started again, on a cluster the class's manifests are applied), then one comparison of
them in OUTDIR/<sweep-id>/: `analyze_plot.py --compare` of the class directories, so
that the same command by hand gives the same comparison."""

import os
import sys
from dataclasses import dataclass
from typing import Dict, List

from . import procs
from .console import log, say, tail
from .durations import hms
from .plan import plan_line
from .runner import ANALYZE, Planned, Sweep, prepare_dir


@dataclass
class Part:
    """One class's sweep, planned."""
    label: str  # the class ("kpa"), or "" for a sweep of one system
    backend: object
    conf: Dict[str, str]  # its sweep.conf's first lines (settings and backend plan)
    planned: Planned
    directory: str


def dry_run_lines(parts: List[Part], points: List, common: Dict[str, str],
                  prom_url: str) -> List[str]:
    """What --dry-run prints: the settings, then each class's own plan lines and planned
    time (prefixed with its class), the total, and the runs of each class."""
    if len(parts) == 1:
        p = parts[0]
        return ([f"{k}={v}" for k, v in p.conf.items()] + [f"prom_url={prom_url}",
                                                          f"planned_time={p.planned.line()}"]
                + [plan_line(x, len(points)) for x in points])
    out = [f"{k}={v}" for k, v in common.items()] + [f"prom_url={prom_url}"]
    for p in parts:
        out += [f"{p.label}.{k}={v}" for k, v in p.conf.items() if common.get(k) != v]
        out.append(f"{p.label}.planned_time={p.planned.line()}")
    total = sum(p.planned.total_s for p in parts)
    each = " + ".join(f"{p.label} {hms(p.planned.total_s)}" for p in parts)
    out.append(f"planned_time={hms(total)} ({each}, one class after the other; the analyses "
               "and the comparison come after)")
    for p in parts:
        out += [plan_line(x, len(points), p.label) for x in points]
    return out


def compare(parts: List[Part], top: str) -> int:
    """analyze_plot.py --compare of the classes' directories into top; 0, or 2 when it
    failed."""
    log_path = os.path.join(top, "logs", "compare.log")
    log(f"comparing {', '.join(p.label for p in parts)} in {top}")
    r = procs.run([sys.executable, ANALYZE, "--compare", *[p.directory for p in parts],
                   "--labels", ",".join(p.label for p in parts), "--out-dir", top],
                  log_path=log_path)
    if r.returncode != 0:
        tail(log_path, 20)
        log(f"the comparison failed; see {log_path}")
        return 2
    words = os.path.join(top, "comparison.txt")
    try:
        with open(words, encoding="utf-8") as f:
            log("what differed: " + f.read().split("\n\n")[1].replace("\n", " "))
    except (OSError, IndexError):
        pass
    say(f"comparison: {os.path.join(top, 'comparison.html')}")
    return 0


def execute(s, parts: List[Part], points: List, provenance: Dict[str, str]) -> int:
    """Each class's sweep in turn, then the comparison. A class that did not reach its
    end (interrupted, failed) ends it there; one stopped by a threshold or that missed
    series does not keep the next class from running. The exit status is the first
    non-zero one."""
    if len(parts) == 1:
        p = parts[0]
        return Sweep(s, p.backend, points, dict(p.conf, **provenance), p.planned).execute()
    # OUTDIR/<sweep-id>, refused when it holds anything, as a sweep directory is; its
    # logs/ gets the comparison's log.
    top, existed = prepare_dir(os.path.join(s.outdir, s.sweep_id), s)
    rc = 0
    try:
        for i, p in enumerate(parts, 1):
            procs.on_signals(procs.raise_interrupted)  # between two classes, too
            log(f"class {i}/{len(parts)}: {p.label}")
            sweep = Sweep(s, p.backend, points, dict(p.conf, **provenance), p.planned,
                          directory=p.directory, name=f"{s.sweep_id}/{p.label}")
            status = sweep.execute()
            rc = rc or status
            if not sweep.finished:
                log(f"the {p.label} sweep did not finish: no comparison")
                return rc
        if not s.no_analyze:
            rc = compare(parts, top) or rc
        return rc
    finally:
        _remove_if_empty(top, existed)


def _remove_if_empty(top: str, existed: bool) -> None:
    """An unused logs/ goes (no comparison was made); so does the directory when no
    class got to its first run, so that the same --sweep-id works again at once."""
    logs = os.path.join(top, "logs")
    if os.path.isdir(logs) and not os.listdir(logs):
        os.rmdir(logs)
    if not existed and os.path.isdir(top) and not os.listdir(top):
        os.rmdir(top)
