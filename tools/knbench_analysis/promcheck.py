"""Prometheus quantiles next to the CSV's: which histogram a series came from, its bucket
error, and the whole-run comparison (run_* series against the CSV's rows)."""

import math
import re
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .loading import Run, series_total

# Buckets of the *_latency_seconds histograms: 100 us * 2^(k/8). histogram_quantile
# interpolates inside one bucket, so it is off by at most the bucket's width.
FINE_BOUND = 2 ** (1 / 8) - 1  # 9.05 %, for quantiles between 100 us and 62 s
FINE_FLOOR_MS = 0.1
COARSE_BOUND = 1.0  # the original's *_latency_ms buckets double: up to 100 % off


def bucket_bound(query: Optional[str]) -> float:
    """Relative error bound of a quantile series, from the histogram its PromQL used."""
    if query and "_latency_seconds_bucket" in query:
        return FINE_BOUND
    return COARSE_BOUND  # the *_ms histograms, or a JSON that does not say


def rate_window_s(query: Optional[str]) -> Optional[float]:
    """The rate() window of a PromQL query ([3s], [1m], [2500ms]), seconds."""
    m = re.search(r"\[(\d+)(ms|s|m|h)\]", query or "")
    if not m:
        return None
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def nearest_rank(values: np.ndarray, q: float) -> float:
    """The ceil(q * n)-th smallest value: the one whose bucket histogram_quantile reads."""
    if len(values) == 0:
        return math.nan
    v = np.sort(values)
    return float(v[max(1, math.ceil(q * len(v))) - 1])


@dataclass
class QuantileCheck:
    what: str  # which latency, in words
    quantile: str  # p50, p95, p99
    csv_ms: float
    prom_ms: float
    bound: float  # relative error the Prometheus value may have
    same_requests: bool = True  # both sides measured the same thing on the same requests

    @property
    def rel_diff(self) -> float:
        if math.isnan(self.csv_ms) or math.isnan(self.prom_ms) or self.csv_ms <= 0:
            return math.nan
        return (self.prom_ms - self.csv_ms) / self.csv_ms

    @property
    def applies(self) -> bool:
        """The bound holds (fine buckets, value at least 100 us)."""
        return self.bound < 1 and self.csv_ms >= FINE_FLOOR_MS

    @property
    def agrees(self) -> Optional[bool]:
        d = self.rel_diff
        if math.isnan(d) or not self.applies or not self.same_requests:
            return None
        return abs(d) <= self.bound * (1 + 1e-9)


# (series prefix, CSV column, rows, words, same requests and measurement). The driver's
# histograms observe exactly the CSV's latencies; the worker's elapsed time also holds the
# hand-off to its spin thread, which the spin it reports (server_spin_us) does not.
RUN_CHECKS = (
    ("run_driver_intended", "intended_lat_ms", "completed",
     "driver, from the intended send (CSV intended_latency_us)", True),
    ("run_driver", "send_lat_ms", "completed", "driver, from the actual send (CSV latency_us)",
     True),
    ("run_worker", "server_spin_ms", "success",
     "worker elapsed (Prometheus) vs the spin it reported (CSV server_spin_us)", False),
)


def run_checks(run: Run) -> List[QuantileCheck]:
    """Whole-run quantiles from Prometheus (run_* series) next to the CSV's nearest-rank
    quantiles over the same requests: every completed row (warm-up included), as the
    histograms observed them."""
    out: List[QuantileCheck] = []
    df = run.df
    if df is None or df.empty or not run.prom:
        return out
    completed = df[df["status"] != "dropped"]
    rows = {"completed": completed, "success": df[df["status"] == "success"]}
    for prefix, col, which, words, same in RUN_CHECKS:
        values = rows[which][col].dropna().to_numpy(float)
        if len(values) == 0:
            continue
        for q in (50, 95, 99):
            name = f"{prefix}_p{q}_ms"
            total = series_total(run.prom.get(name, []))
            if total is None:
                continue
            bound = bucket_bound(run.prom_queries.get(name))
            out.append(QuantileCheck(words, f"p{q}", nearest_rank(values, q / 100),
                                     float(total.iloc[-1]), bound, same))
    return out
