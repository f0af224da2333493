"""What the autoscaler did in a run, from Knative's own series (collect_prometheus.sh's
actual_pods, requested_pods, panic_mode, ...): with local serving or on a cluster."""

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd

from .loading import Run, prom_rel, series_total

NAN = float("nan")
# The series that say an autoscaler was in the loop (none of them exists with fixed pods).
AUTOSCALER_SERIES = ("actual_pods", "requested_pods", "desired_pods")


@dataclass
class Episode:
    """One run's scale-from-zero, scale-up and scale-down, in numbers."""
    start_pods: float = NAN  # ready pods at the run's start
    peak_ready: float = NAN  # most ready pods
    peak_requested: float = NAN  # most pods the KPA asked for (after min/max-scale)
    peak_desired: float = NAN  # the decider's largest wish (before max-scale)
    first_ready_s: float = NAN  # first ready pod, seconds after the first send (from 0 pods)
    panic_s: float = NAN  # seconds in panic mode (samples x step)
    end_pods: float = NAN  # ready pods at the end of the window
    back_to_start_s: float = NAN  # from the last send until the ready pods are back at start_pods
    first_latency_ms: float = NAN  # the first request's latency (the cold start, from 0 pods)


def has_autoscaler(run: Run) -> bool:
    return any(series_total(run.prom.get(n, [])) is not None for n in AUTOSCALER_SERIES)


def load_end_s(run: Run) -> float:
    """The last intended send, seconds after the run's start (NaN without rows)."""
    if run.df is None or run.df.empty:
        return NAN
    return (float(run.df["t_ms"].max()) - run.start_ms) / 1000.0


def spans(series: Optional[pd.Series]) -> List[Tuple[float, float]]:
    """(from, to) intervals where a 0/1 series sampled at a fixed step is 1; each sample
    stands for the step that follows it."""
    if series is None or series.empty:
        return []
    t = series.index.to_numpy(float)
    on = series.to_numpy(float) > 0.5
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    out: List[Tuple[float, float]] = []
    start = None
    for ti, oi in zip(t, on):
        if oi and start is None:
            start = ti
        elif not oi and start is not None:
            out.append((start, ti))
            start = None
    if start is not None:
        out.append((start, t[-1] + step))
    return out


def settled_from(series: pd.Series, value: float, after: float) -> Optional[float]:
    """The first sample at or after `after` from which the series stays at `value` to its
    end; None when it is not there at the end."""
    tail = series[series.index >= after]
    stays = tail[::-1].ne(value).cumsum()[::-1] == 0
    return float(stays.index[stays.to_numpy()][0]) if stays.any() else None


def episode(run: Run) -> Optional[Episode]:
    """The run's autoscaling in numbers, or None when no autoscaler series was collected."""
    ready = prom_rel(run, "actual_pods")
    if ready is None or math.isnan(run.start_ms):
        return None
    ep = Episode()
    ep.start_pods = float(ready.iloc[0])
    ep.end_pods = float(ready.iloc[-1])
    ep.peak_ready = float(ready.max())
    for attr, name in (("peak_requested", "requested_pods"), ("peak_desired", "desired_pods")):
        s = prom_rel(run, name)
        if s is not None:
            setattr(ep, attr, float(s.max()))
    if ep.start_pods == 0 and (ready > 0).any():
        ep.first_ready_s = float(ready.index[(ready > 0).to_numpy()][0])
    panic = prom_rel(run, "panic_mode")
    if panic is not None:
        ep.panic_s = float(sum(b - a for a, b in spans(panic)))
    end = load_end_s(run)
    if not math.isnan(end):
        back = settled_from(ready, ep.start_pods, end)
        if back is not None:
            ep.back_to_start_s = back - end
    df = run.df
    if df is not None and not df.empty:
        first = df.loc[df["t_ms"].idxmin()]
        if first["status"] == "success":
            ep.first_latency_ms = float(first["lat_ms"])
    return ep


def episode_words(ep: Episode) -> str:
    """One sentence on the run's autoscaling, for the report."""
    parts = []
    if ep.start_pods == 0 and not math.isnan(ep.first_ready_s):
        cold = (f"; the first request took {ep.first_latency_ms / 1000:.2f} s (cold start)"
                if not math.isnan(ep.first_latency_ms) else "")
        parts.append(f"scaled from zero: first pod ready {ep.first_ready_s:.0f} s after the "
                     f"first send{cold}")
    else:
        parts.append(f"{ep.start_pods:g} pod(s) ready at the start")
    peak = f"up to {ep.peak_ready:g} ready pod(s)"
    if not math.isnan(ep.peak_requested):
        peak += f" ({ep.peak_requested:g} requested"
        if not math.isnan(ep.peak_desired) and ep.peak_desired > ep.peak_requested:
            peak += f"; the decider wished for {ep.peak_desired:g}, max-scale capped it"
        peak += ")"
    parts.append(peak)
    if not math.isnan(ep.panic_s):
        parts.append(f"{ep.panic_s:.0f} s in panic mode" if ep.panic_s > 0 else "no panic")
    if not math.isnan(ep.back_to_start_s):
        parts.append(f"back to {ep.start_pods:g} pod(s) {ep.back_to_start_s:.0f} s after the "
                     "last send")
    else:
        parts.append(f"{ep.end_pods:g} pod(s) ready when the window ended")
    return "; ".join(parts)
