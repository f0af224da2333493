"""The comparison's figure per grid point: each compared sweep's run on one time axis
(seconds since the load's start): every request's latency above, the ready pods and the
scale the autoscaler asked for below."""

import math
from typing import List, Optional, Tuple

import numpy as np

from . import plots
from .autoscaling import load_end_s
from .loading import Run
from .scaling import READY_SERIES, SCALE_SERIES, first_series


def plot_point(runs: List[Tuple[str, Run]], name: str, title: str,
               out_dir: str) -> Optional[str]:
    """comparison_<name>.png from (label, run) pairs; None when no run has rows."""
    runs = [(label, r) for label, r in runs if r.df is not None and not r.df.empty]
    if not runs:
        return None
    fig, (top, bottom) = plots.plt.subplots(2, 1, figsize=(9, 7.5), sharex=True,
                                            gridspec_kw={"height_ratios": [1, 1]})
    for i, (label, run) in enumerate(runs):
        color = f"C{i}"
        df = run.df
        rel = (df["t_ms"].to_numpy(float) - run.start_ms) / 1000.0
        lat = df["lat_ms"].to_numpy(float)
        ok = (df["status"] == "success").to_numpy() & np.isfinite(lat)
        top.scatter(rel[ok], lat[ok], s=3, alpha=0.35, color=color, linewidths=0,
                    label=f"{label}: latency of each request")
        failed = ~ok & np.isfinite(lat)
        if failed.any():
            top.scatter(rel[failed], lat[failed], s=10, marker="x", color=color,
                        label=f"{label}: failed or dropped")
        # Equal curves would hide each other: earlier sweeps are drawn wider, underneath.
        wider = 1.6 * (len(runs) - 1 - i)
        ready = first_series(run, READY_SERIES)
        if ready is not None:
            bottom.step(ready.index, ready.values, where="post", color=color,
                        linewidth=2 + wider, alpha=0.8, label=f"{label}: ready pods")
        scale = first_series(run, SCALE_SERIES)
        if scale is not None:
            bottom.step(scale.index, scale.values, where="post", color=color, linestyle="--",
                        linewidth=1.2 + wider, alpha=0.8, label=f"{label}: scale asked for")
        end = load_end_s(run)
        if not math.isnan(end):
            for ax in (top, bottom):
                ax.axvline(end, color=color, linestyle="-.", linewidth=0.8,
                           label=f"{label}: load ends" if ax is bottom else None)
    top.axhline(runs[0][1].spin, color="grey", linestyle=":", label="spin")
    top.set_yscale("log")
    top.set_ylabel("latency (ms, by intended send)")
    top.set_title(f"Pods and latency, {title}")
    bottom.set_ylabel("pods")
    bottom.set_ylim(bottom=0)
    bottom.yaxis.get_major_locator().set_params(integer=True)
    bottom.set_xlabel("time since the load's start (s)")
    for ax in (top, bottom):
        ax.axvline(0, color="black", linewidth=0.6)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    return plots.save(fig, out_dir, f"comparison_{name}.png")
