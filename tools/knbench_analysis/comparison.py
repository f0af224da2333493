"""Autoscaler classes (or any sweeps) compared grid point by grid point, as data: the
struct that comparison.json holds and comparison_format.py turns into words, text and
HTML. The first sweep is the baseline.

Each sweep's measures per grid point are scaling.measure of its runs (the median over
repeats); its minimum is the idle pod count its sweep waited for between runs
(sweep.conf's idle_pods), else each run's starting pods."""

import os
import statistics
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional

from . import scaling
from .loading import fmt_num
from .scaling import Measures

FORMAT = "knbench-comparison/1"


@dataclass
class Side:
    """One compared sweep."""
    label: str
    results_dir: str
    autoscaler_class: str  # kpa | hpa | none | live | "" (not recorded)
    runs: int
    report: Optional[str] = None  # its report.html, when there is one
    # Settings its serving arguments set (not the manifest, not the defaults): what was
    # shortened for a local run, e.g. the HPA's downscale stabilization.
    flag_settings: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Point:
    rps: float
    spin_ms: float
    name: str  # 20rps-100ms
    measures: Dict[str, Measures]  # by sweep label; a sweep without the point is absent
    runs: Dict[str, str] = field(default_factory=dict)  # label -> the stem plotted (r1)


@dataclass
class Comparison:
    baseline: str
    sides: List[Side]
    points: List[Point]
    latency_basis: str = "intended"  # the analysis': from the intended or the actual send

    @property
    def labels(self) -> List[str]:
        return [s.label for s in self.sides]


def median_measures(ms: List[Measures]) -> Measures:
    """Each field's median over the repeats that have it."""
    out = Measures()
    for f in fields(Measures):
        vals = [getattr(m, f.name) for m in ms if getattr(m, f.name) is not None]
        if vals:
            med = statistics.median(vals)
            setattr(out, f.name, int(med) if f.type is int else float(med))
    return out


def autoscaler_class(info) -> str:
    cfg = info.serving_config or {}
    return str(cfg.get("class") or info.system.get("class") or info.get("autoscaler_class")
               or "")


def flag_settings(info) -> Dict[str, Any]:
    cfg = info.serving_config or {}
    sources = cfg.get("sources") or {}
    return {k: v for k, v in (cfg.get("settings") or {}).items() if sources.get(k) == "flag"}


def side(sweep, out_dir: str) -> Side:
    report = os.path.relpath(sweep.report, out_dir) if sweep.report else None
    return Side(sweep.label, os.path.abspath(sweep.results_dir), autoscaler_class(sweep.info),
                len(sweep.runs), report, flag_settings(sweep.info))


def build(sweeps, out_dir: str, latency_basis: str = "intended") -> Comparison:
    """The comparison of analysed sweeps (compare.Sweep: label, runs, info, ...)."""
    grid: Dict[tuple, Point] = {}
    for sw in sweeps:
        idle = scaling.number(sw.info.get("idle_pods"))
        by_point: Dict[tuple, List] = {}
        for run in sw.runs:
            by_point.setdefault((run.rps, run.spin), []).append(run)
        for (rps, spin), runs in by_point.items():
            p = grid.setdefault((rps, spin), Point(rps, spin, runs[0].tag, {}))
            p.measures[sw.label] = median_measures([scaling.measure(r, idle) for r in runs])
            p.runs[sw.label] = min(runs, key=lambda r: r.repeat).stem
    points = sorted(grid.values(), key=lambda p: (p.spin_ms, p.rps))
    return Comparison(sweeps[0].label, [side(s, out_dir) for s in sweeps], points,
                      latency_basis)


def as_json(c: Comparison) -> Dict[str, Any]:
    """comparison.json: the struct as it is (None as null)."""
    return {"format": FORMAT, "baseline": c.baseline, "latency_basis": c.latency_basis,
            "sweeps": [asdict(s) for s in c.sides],
            "points": [{"rps": p.rps, "spin_ms": p.spin_ms, "name": p.name,
                        "runs_plotted": p.runs,
                        "measures": {k: asdict(m) for k, m in p.measures.items()}}
                       for p in c.points]}


def point_title(p: Point) -> str:
    return f"{fmt_num(p.rps)} rps x {fmt_num(p.spin_ms)} ms"
