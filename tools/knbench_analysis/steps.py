"""Per-step statistics of staircases and ramps: each level's achieved rate and latency."""

import math
from dataclasses import dataclass
from typing import List

import numpy as np
import pandas as pd

from .loading import Run

# A phase whose target changes more often than this (a ramp, a fine trace) is cut into
# this many equal-time segments instead of one step per distinct rate.
MAX_LEVELS_PER_PHASE = 20
RAMP_SEGMENTS = 10


@dataclass
class Step:
    phase: int
    start_s: float  # since the run's first intended send
    duration_s: float
    target_rps: float  # mean target rate over the step (the CSV's rps column)
    scheduled: int
    achieved_rps: float  # successes per second (by intended send time)
    failed: int  # failures + dropped
    p50_ms: float
    p95_ms: float
    p99_ms: float
    warmup: bool  # every row of the step is in the warm-up


def _levels(df: pd.DataFrame) -> pd.Series:
    """A level id per row: consecutive rows with the same (phase, target rate)."""
    key = df["phase"].fillna(-1).astype(float).astype(str) + "/" + df["rps"].astype(str)
    level = (key != key.shift()).cumsum()
    # Ramps: too many levels within one phase -> equal-time segments of that phase.
    for phase, rows in df.groupby(df["phase"].fillna(-1)):
        if level[rows.index].nunique() > MAX_LEVELS_PER_PHASE:
            t = rows["t_ms"]
            span = max(float(t.max() - t.min()), 1.0)
            seg = np.minimum(((t - t.min()) / span * RAMP_SEGMENTS).astype(int), RAMP_SEGMENTS - 1)
            level[rows.index] = level[rows.index].min() + seg
    return level


def run_steps(run: Run) -> List[Step]:
    """The run's steps, in time order; empty when the schedule has a single level."""
    df = run.df
    if df is None or df.empty or df["rps"].isna().all():
        return []
    level = _levels(df)
    groups = list(df.groupby(level, sort=True))
    if len(groups) < 2:
        return []
    firsts = [float(g["t_ms"].min()) for _, g in groups]
    steps = []
    for k, (_, g) in enumerate(groups):
        target = float(g["rps"].mean())
        if k + 1 < len(groups):
            dur = (firsts[k + 1] - firsts[k]) / 1000.0
        elif target > 0:
            dur = len(g) / target
        else:
            dur = (float(g["t_ms"].max()) - firsts[k]) / 1000.0
        succ = g.loc[g["status"] == "success", "lat_ms"].to_numpy(float)
        q = np.percentile(succ, [50, 95, 99]) if len(succ) else [math.nan] * 3
        warm = g["warmup"]
        steps.append(Step(
            phase=int(g["phase"].iloc[0]) if not math.isnan(g["phase"].iloc[0]) else -1,
            start_s=(firsts[k] - run.start_ms) / 1000.0, duration_s=dur, target_rps=target,
            scheduled=int(len(g)),
            achieved_rps=len(succ) / dur if dur > 0 else math.nan,
            failed=int((g["status"] != "success").sum()),
            p50_ms=float(q[0]), p95_ms=float(q[1]), p99_ms=float(q[2]),
            warmup=bool(warm.notna().all() and warm.astype(bool).all())))
    return steps
