"""Where each request's time went (issue 19): the waits local_serving's router reported
(activator, queue-proxy), the worker's spin and the rest, as shares of latency for all
requests and for the slowest 1 %, per run and per second."""

import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import pandas as pd

from .report import cell, esc, table

# (key, name) in stacking order; keys as in the driver's summary JSON.
PARTS: Tuple[Tuple[str, str], ...] = (
    ("activator_wait", "activator wait"), ("queue_wait", "queue wait"),
    ("server_spin", "server spin"), ("rest", "rest"))
# The loaded CSV's column (ms) of each measured part; the rest is what is left.
COLUMNS = {"activator_wait": "activator_wait_ms", "queue_wait": "queue_wait_ms",
           "server_spin": "server_spin_ms"}


@dataclass
class Group:
    """The parts of a group of requests: ms, and shares of latency (0..1)."""
    requests: int
    latency_mean_ms: float
    mean_ms: Dict[str, float]
    mean_share: Dict[str, float]  # the part's sum over the latency sum
    p99_share: Dict[str, float]  # nearest-rank p99 of part / latency per request


@dataclass
class Breakdown:
    all: Group
    slowest: Group  # the slowest 1 % by latency, at least one request
    per_second: pd.DataFrame  # index: whole seconds since run start; a mean ms per part


def parts_frame(meas: pd.DataFrame) -> pd.DataFrame:
    """Measured successes that carry both waits: t_ms, latency (from the actual send, as
    the waits are) and each part in ms; the rest never below 0."""
    ok = ((meas["status"] == "success") & meas["activator_wait_ms"].notna()
          & meas["queue_wait_ms"].notna() & meas["send_lat_ms"].notna())
    m = meas[ok]
    out = pd.DataFrame({"t_ms": m["t_ms"], "latency": m["send_lat_ms"]})
    for key, col in COLUMNS.items():
        out[key] = m[col].fillna(0.0)
    out["rest"] = (out["latency"] - out[list(COLUMNS)].sum(axis=1)).clip(lower=0.0)
    return out


def group(f: pd.DataFrame) -> Group:
    lat = f["latency"].to_numpy(dtype=float)
    lat_sum = float(lat.sum())
    g = Group(requests=len(f), latency_mean_ms=float(lat.mean()), mean_ms={}, mean_share={},
              p99_share={})
    for key, _ in PARTS:
        v = f[key].to_numpy(dtype=float)
        shares = np.divide(v, lat, out=np.zeros_like(v), where=lat > 0)
        g.mean_ms[key] = float(v.mean())
        g.mean_share[key] = float(v.sum()) / lat_sum if lat_sum > 0 else 0.0
        g.p99_share[key] = float(np.percentile(shares, 99, method="inverted_cdf"))
    return g


def compute(meas: Optional[pd.DataFrame], start_ms: float) -> Optional[Breakdown]:
    """None when no measured success carries the router's waits (older CSVs, a driver
    straight at a worker, a cluster run)."""
    if meas is None or "activator_wait_ms" not in meas.columns:
        return None
    f = parts_frame(meas)
    if f.empty:
        return None
    slowest = f.nlargest(-(-len(f) // 100), "latency", keep="first")
    second = ((f["t_ms"] - start_ms) // 1000).astype(int)
    per_second = f[[k for k, _ in PARTS]].groupby(second).mean()
    return Breakdown(all=group(f), slowest=group(slowest), per_second=per_second)


def dominant(g: Group) -> Tuple[str, str]:
    """The part with the largest share of the group's time: (key, name)."""
    return max(PARTS, key=lambda p: g.mean_share[p[0]])


def _pct(share: float) -> str:
    return "" if math.isnan(share) else f"{100 * share:.1f} %"


def words(b: Breakdown) -> str:
    """The sentence naming what dominated the run's p99 (its slowest 1 %)."""
    s = b.slowest
    key, name = dominant(s)
    others = ", ".join(f"{w} {_pct(s.mean_share[k])}" for k, w in PARTS if k != key)
    return (f"Its p99 was dominated by the {name}: {_pct(s.mean_share[key])} of the time of its "
            f"slowest 1 % ({s.requests} request{'s' if s.requests != 1 else ''}, mean "
            f"{cell(s.latency_mean_ms)} ms; {others}).")


def html(b: Optional[Breakdown]) -> str:
    """The run's breakdown table and sentence, or a note that it has none (escaped HTML)."""
    if b is None:
        return ("<p class='note'>Latency breakdown: no breakdown (no router waits in this "
                "run's CSV: older results, a driver straight at a worker, or a cluster run)."
                "</p>")
    header = ["", "requests", "mean latency ms"] + [esc(w) for _, w in PARTS]
    rows = []
    for label, g in (("all", b.all), ("slowest 1 %", b.slowest)):
        rows.append([f"<th>{esc(label)}: mean share</th>", str(g.requests),
                     cell(g.latency_mean_ms)] +
                    [f"{_pct(g.mean_share[k])} ({cell(g.mean_ms[k])} ms)" for k, _ in PARTS])
        rows.append([f"<th>{esc(label)}: p99 share</th>", "", ""] +
                    [_pct(g.p99_share[k]) for k, _ in PARTS])
    return ("<p>Latency breakdown (successes after the warm-up, latency from the actual send): "
            "the waits the router reported, the worker's spin and the rest (network, gRPC, "
            "scheduling). Mean share = the part's share of the group's time; p99 share = the "
            "99th percentile over requests of the part's share of each one's latency.</p>"
            + table(header, rows) + f"<p class='words'>{esc(words(b))}</p>")
