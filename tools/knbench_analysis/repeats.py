"""Repeats: per grid point, the median over repeated runs and a 95 % bootstrap confidence
interval for p50, p95 and p99.

The interval comes from a two-level (hierarchical) bootstrap, so it holds both sources of
variation: which runs were drawn (run-to-run variation) and which requests each run saw.
Each of B resamples draws N runs with replacement from the N repeats, then resamples the
requests of each drawn run, takes each resampled run's quantile and the median of those N;
the interval is the 2.5th to 97.5th percentile of the B medians.

Resampling a run's n latencies and taking a quantile only needs two order statistics of the
resample. The k-th smallest of n uniform draws is Beta(k, n - k + 1), the next one adds
(1 - U) * Beta(1, n - k); mapped through the run's empirical distribution they are the
resample's order statistics, so each bootstrap quantile costs O(1) instead of O(n).
"""

import math
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from .loading import Run
from .stats import successes_ms

QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
DEFAULT_RESAMPLES = 2000
NAN = float("nan")


def bootstrap_quantile(sorted_values: np.ndarray, q: float, size: int,
                       rng: np.random.Generator) -> np.ndarray:
    """`size` bootstrap replicates of numpy's (linear) q-quantile of a sample with
    replacement of the same length from `sorted_values` (sorted ascending)."""
    n = len(sorted_values)
    if n == 1:
        return np.full(size, float(sorted_values[0]))
    h = (n - 1) * q
    k = int(math.floor(h))  # 0-based order statistic below the quantile
    frac = h - k
    u_k = rng.beta(k + 1, n - k, size)  # (k+1)-th smallest of n uniforms
    lo = sorted_values[np.minimum((u_k * n).astype(np.int64), n - 1)]
    if frac == 0 or k + 1 >= n:
        return lo.astype(float)
    u_next = u_k + (1 - u_k) * rng.beta(1, n - k - 1, size)
    hi = sorted_values[np.minimum((u_next * n).astype(np.int64), n - 1)]
    return lo + frac * (hi - lo)


def hierarchical_ci(samples: List[np.ndarray], q: float, resamples: int,
                    rng: np.random.Generator) -> Tuple[float, float]:
    """95 % interval of the median over runs of each run's q-quantile (see module doc)."""
    samples = [np.sort(s) for s in samples if len(s)]
    if not samples:
        return NAN, NAN
    # per_run[i, b]: run i's quantile in resample b (drawn once per run: which runs a
    # resample picks is independent of how each run's requests are resampled).
    per_run = np.vstack([bootstrap_quantile(s, q, resamples, rng) for s in samples])
    picks = rng.integers(0, len(samples), size=(resamples, len(samples)))
    medians = np.median(per_run[picks, np.arange(resamples)[:, None]], axis=1)
    lo, hi = np.percentile(medians, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass
class GridPoint:
    """One (rps, spin) point over its repeats."""
    rps: float
    spin_ms: float
    repeats: int
    stems: List[str] = field(default_factory=list)
    median: Dict[str, float] = field(default_factory=dict)  # p50/p95/p99 -> ms
    ci: Dict[str, Tuple[float, float]] = field(default_factory=dict)  # p50/... -> (lo, hi) ms
    failed_pct: float = NAN
    mean_pods: float = NAN
    flagged: int = 0  # repeats with a flag


def grid_points(runs: List[Run], resamples: int = DEFAULT_RESAMPLES,
                seed: int = 0) -> List[GridPoint]:
    """Every grid point with its median over repeats and bootstrap CIs (deterministic: the
    resampling is seeded)."""
    rng = np.random.default_rng(seed)
    by_point: Dict[Tuple[float, float], List[Run]] = {}
    for r in runs:
        by_point.setdefault((r.rps, r.spin), []).append(r)
    out = []
    for (rps, spin), rs in sorted(by_point.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        g = GridPoint(rps=rps, spin_ms=spin, repeats=len(rs), stems=[r.stem for r in rs])
        samples = [successes_ms(r) for r in rs]
        for name, q in QUANTILES:
            per_run = [float(np.quantile(s, q)) for s in samples if len(s)]
            g.median[name] = float(np.median(per_run)) if per_run else NAN
            g.ci[name] = hierarchical_ci(samples, q, resamples, rng)
        count = sum(r.stats.count for r in rs)
        failed = sum(r.stats.failures + r.stats.dropped for r in rs)
        g.failed_pct = 100.0 * failed / count if count else NAN
        pods = [r.stats.mean_pods for r in rs if not math.isnan(r.stats.mean_pods)]
        g.mean_pods = float(np.median(pods)) if pods else NAN
        g.flagged = sum(1 for r in rs if r.flags)
        out.append(g)
    return out
