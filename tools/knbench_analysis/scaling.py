"""One run's autoscaling in the numbers that compare autoscaler classes (KPA vs HPA):
latency, failures, the cold start, the cost in pod-seconds, the peak, how soon the scale
rose and settled under the load, and how soon the pods were back at the minimum after
it, and CPU throttling.

Time is in seconds since the load's start (the run's first intended send), as every
plot has it. Series are collect_prometheus.sh's: a gauge sample at t stands for the
step before it (it holds the latest scrape at or before t)."""

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from .autoscaling import load_end_s, settled_from
from .loading import Run, prom_rel

# The ready pods, the first of these that was collected: Knative's actual pods (the KPA
# on a cluster, local serving), local mode's workers up, kube-state-metrics' HPA current
# replicas (the HPA class on a cluster, which has no Knative autoscaler series).
READY_SERIES = ("actual_pods", "pods", "hpa_current_replicas")
# The scale the autoscaler asks of the Deployment: the HPA's desired replicas (only the
# HPA class has them), the KPA's requested pods (after min- and max-scale), else the KPA
# decider's wish.
SCALE_SERIES = ("hpa_desired_replicas", "requested_pods", "desired_pods")


@dataclass
class Measures:
    """A run (or the median of a grid point's repeats); None where it does not apply."""
    requests: int = 0  # measured (after the warm-up), any status
    failed: int = 0  # failures + dropped among them
    p50_ms: Optional[float] = None  # successes, on the analysis' latency basis
    p95_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    start_pods: Optional[float] = None  # ready pods at the load's start
    cold_start_s: Optional[float] = None  # the first request's wait beyond its spin when
    #                                       the run started at 0 ready pods; None: pods were ready
    pod_seconds: Optional[float] = None  # ready pods integrated over the run's window
    window_s: Optional[float] = None  # how long that window is
    peak_pods: Optional[float] = None  # most ready pods
    first_scale_up_s: Optional[float] = None  # the scale first above the minimum
    final_scale_s: Optional[float] = None  # the last change of the scale under the load
    final_scale_pods: Optional[float] = None  # the scale it changed to
    min_pods: Optional[float] = None  # the minimum: the sweep's idle pods, else start_pods
    back_to_min_s: Optional[float] = None  # load's end -> ready pods at min_pods for good
    throttled_share: Optional[float] = None  # mean share of CFS periods throttled


def number(x) -> Optional[float]:
    """A finite float, else None (NaN and missing alike)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def first_series(run: Run, names: Sequence[str]) -> Optional[pd.Series]:
    """The first of the named series the run has, summed over instances."""
    for name in names:
        s = prom_rel(run, name)
        if s is not None and len(s):
            return s
    return None


def integral(series: pd.Series) -> Tuple[float, float]:
    """(value x seconds, seconds covered): each sample stands for the time since the one
    before it; the first for one step (the median spacing)."""
    t = series.index.to_numpy(float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    dt = np.diff(t, prepend=t[0] - step)
    return float(np.sum(series.to_numpy(float) * dt)), float(np.sum(dt))


def first_above(series: pd.Series, level: float) -> Optional[float]:
    """When the series first exceeds level."""
    above = series[series > level]
    return float(above.index[0]) if len(above) else None


def last_change(series: pd.Series, until: float,
                before: float) -> Optional[Tuple[float, float]]:
    """(when, to what) the series last changed at or before `until`; `before` is its
    value ahead of the first sample. None when it never changed."""
    s = series[series.index <= until]
    values = np.concatenate([[before], s.to_numpy(float)])
    changed = np.flatnonzero(values[1:] != values[:-1])
    if not len(changed):
        return None
    i = int(changed[-1])
    return float(s.index[i]), float(s.iloc[i])


def cold_start_s(run: Run, start_pods: Optional[float]) -> Optional[float]:
    """The first request's latency beyond its spin (the server's, else the run's), in s,
    when the run started at 0 ready pods (or nobody knows how many)."""
    df = run.df
    if (start_pods is not None and start_pods > 0) or df is None or df.empty:
        return None
    first = df.loc[df["t_ms"].idxmin()]
    lat = number(first["lat_ms"])
    if lat is None:
        return None
    spin = number(first["server_spin_ms"])
    return max(0.0, lat - (spin if spin is not None else run.spin)) / 1000.0


def measure(run: Run, min_pods: Optional[float] = None) -> Measures:
    """The run's measures; min_pods is the idle state the sweep waited for (None: the
    ready pods at the run's start)."""
    st = run.stats
    m = Measures(requests=int(st.count), failed=int(st.failures + st.dropped),
                 p50_ms=number(st.p50_ms), p95_ms=number(st.p95_ms), p99_ms=number(st.p99_ms))
    ready = first_series(run, READY_SERIES)
    if ready is not None:
        m.start_pods = float(ready.iloc[0])
        m.pod_seconds, m.window_s = integral(ready)
        m.peak_pods = float(ready.max())
    m.min_pods = min_pods if min_pods is not None else m.start_pods
    m.cold_start_s = cold_start_s(run, m.start_pods)
    end = number(load_end_s(run))
    scale = first_series(run, SCALE_SERIES)
    if scale is not None and m.min_pods is not None:
        m.first_scale_up_s = first_above(scale, m.min_pods)
        if end is not None:
            m.final_scale_s, m.final_scale_pods = last_change(scale, end, m.min_pods) or \
                (None, None)
    if ready is not None and m.min_pods is not None and end is not None:
        back = settled_from(ready, m.min_pods, end)
        m.back_to_min_s = None if back is None else back - end
    throttled = prom_rel(run, "pod_cpu_throttled_ratio")
    if throttled is not None:
        m.throttled_share = number(throttled.mean())  # NaN samples (0/0) are skipped
    return m
