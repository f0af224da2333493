"""Figures: latency vs rate, overhead heatmap, CDFs, pods, per-run timelines and latency
breakdowns (PNG)."""

import math
import os
from typing import List, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .autoscaling import load_end_s, spans  # noqa: E402
from .breakdown import PARTS  # noqa: E402
from .loading import Run, fmt_num, prom_rel  # noqa: E402
from .promcheck import bucket_bound, rate_window_s  # noqa: E402
from .stats import RunStats, successes_ms  # noqa: E402


def save(fig, out_dir: str, name: str) -> str:
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    return name


def labels(ax, xlabel: str, ylabel: str, title: str) -> None:
    """A single panel's axis labels, title, grid and legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()


def error_bars(p5: np.ndarray, p50: np.ndarray, p95: np.ndarray) -> np.ndarray:
    """matplotlib yerr: distances below and above the median, both >= 0 by construction."""
    lower = np.clip(p50 - p5, 0.0, None)
    upper = np.clip(p95 - p50, 0.0, None)
    return np.vstack([lower, upper])


def plot_latency_vs_rps(stats: List[RunStats], spin: float, out_dir: str) -> str:
    rows = sorted((s for s in stats if s.spin_ms == spin and not math.isnan(s.p50_ms)),
                  key=lambda s: s.rps)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if rows:
        p5, p50, p95 = (np.array([getattr(s, k) for s in rows], dtype=float)
                        for k in ("p5_ms", "p50_ms", "p95_ms"))
        ax.errorbar([s.rps for s in rows], p50, yerr=error_bars(p5, p50, p95), fmt="o-",
                    capsize=4, label="median (bars: p5 to p95)")
    else:
        ax.text(0.5, 0.5, "no measured successes", ha="center", transform=ax.transAxes)
    ax.axhline(spin, color="grey", linestyle="--", label=f"spin {fmt_num(spin)} ms")
    labels(ax, "target rate (requests/s)", "latency (ms)",
           f"Latency vs rate, spin {fmt_num(spin)} ms")
    return save(fig, out_dir, f"latency_vs_rps_{fmt_num(spin)}ms.png")


def plot_latency_ci(points, spin: float, out_dir: str) -> str:
    """With repeats: each quantile's median over the repeats, bars = its 95 % CI."""
    rows = sorted((g for g in points if g.spin_ms == spin), key=lambda g: g.rps)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, q in enumerate(("p50", "p95", "p99")):
        pts = [g for g in rows if not math.isnan(g.median[q])]
        if not pts:
            continue
        med = np.array([g.median[q] for g in pts])
        lo = np.array([g.ci[q][0] for g in pts])
        hi = np.array([g.ci[q][1] for g in pts])
        ax.errorbar([g.rps for g in pts], med, yerr=error_bars(lo, med, hi), fmt="o-",
                    capsize=4, color=f"C{i}", label=f"{q}: median of repeats (bars: 95 % CI)")
    ax.axhline(spin, color="grey", linestyle="--", label=f"spin {fmt_num(spin)} ms")
    n = max((g.repeats for g in rows), default=0)
    ax.set_xlabel("target rate (requests/s)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Latency vs rate, spin {fmt_num(spin)} ms ({n} repeats)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, out_dir, f"latency_vs_rps_{fmt_num(spin)}ms.png")


def plot_overhead_heatmap(stats: List[RunStats], out_dir: str) -> str:
    table = pd.DataFrame({"spin": [s.spin_ms for s in stats], "rps": [s.rps for s in stats],
                          "overhead": [s.overhead for s in stats]})
    grid = table.pivot_table(index="spin", columns="rps", values="overhead", aggfunc="median",
                             dropna=False)
    grid = grid.sort_index().sort_index(axis=1)
    fig, ax = plt.subplots(figsize=(1.2 * max(4, grid.shape[1]) + 2,
                                    0.8 * max(3, grid.shape[0]) + 1.5))
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    if finite.size:
        im = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto",
                       origin="lower", vmin=min(0.0, float(finite.min())), vmax=max(vmax, 1e-9))
        fig.colorbar(im, ax=ax, label="overhead")
    else:  # no run has a median: an empty grid, labelled
        ax.set_xlim(-0.5, grid.shape[1] - 0.5)
        ax.set_ylim(-0.5, grid.shape[0] - 0.5)
    ax.set_xticks(range(grid.shape[1]), [fmt_num(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [fmt_num(i) for i in grid.index])
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "n/a" if not np.isfinite(v) else f"{v:.2f}", ha="center", va="center",
                color="white" if np.isfinite(v) and v < vmax / 2 else "black", fontsize=8)
    ax.set_xlabel("target rate (requests/s)")
    ax.set_ylabel("spin (ms)")
    ax.set_title("Overhead (median latency - spin) / spin")
    return save(fig, out_dir, "overhead_heatmap.png")


def plot_cdf(runs: List[Run], spin: float, out_dir: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = 0
    for run in sorted((r for r in runs if r.spin == spin), key=lambda r: r.rps):
        lat = np.sort(successes_ms(run))
        if len(lat) == 0:
            continue
        ax.step(lat, np.arange(1, len(lat) + 1) / len(lat), where="post",
                label=f"{fmt_num(run.rps)} rps" + (f" r{run.repeat}" if run.repeat > 1 or any(
                    o.repeat > 1 for o in runs) else ""))
        drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "no measured successes", ha="center", transform=ax.transAxes)
    else:
        ax.legend()
    ax.axvline(spin, color="grey", linestyle="--")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Latency CDF, spin {fmt_num(spin)} ms (successes after warm-up)")
    ax.grid(alpha=0.3)
    return save(fig, out_dir, f"latency_cdf_{fmt_num(spin)}ms.png")


def shade_warmup(ax, run: Run, label: bool = True) -> None:
    if not math.isnan(run.measured_from_s) and run.measured_from_s > 0:
        ax.axvspan(0, run.measured_from_s, color="grey", alpha=0.15,
                   label="warm-up" if label else None)


def plot_pods(run: Run, out_dir: str) -> Optional[str]:
    pods = prom_rel(run, "pods")
    if pods is None and run.model is None:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    shade_warmup(ax, run)
    if pods is not None:
        ax.step(pods.index, pods.values, where="post", label="measured pods (Prometheus)")
    if run.model is not None:
        ax.step(run.model["time_s"], run.model["desired_pods"], where="post", linestyle="--",
                label="KPA model desired pods")
        if "ready_pods" in run.model.columns:
            ax.step(run.model["time_s"], run.model["ready_pods"], where="post", linestyle=":",
                    label="KPA model ready pods")
    ax.set_xlabel("time since run start (s)")
    ax.set_ylabel("pods")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Pods over time, {run.stem}")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, out_dir, f"pods_{run.stem}.png")


def plot_breakdown(run: Run, out_dir: str) -> Optional[str]:
    """Per second of the run, the mean of each part of latency, stacked: a cold start (the
    activator wait) or a queue stands out. None without a breakdown."""
    b = run.breakdown
    if b is None:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    shade_warmup(ax, run)
    bottom = np.zeros(len(b.per_second))
    for key, name in PARTS:
        values = b.per_second[key].to_numpy(dtype=float)
        ax.bar(b.per_second.index, values, bottom=bottom, width=1.0, align="edge", label=name)
        bottom += values
    labels(ax, "intended send, seconds since run start", "mean ms per request",
           f"Where latency went, per second, {run.stem}")
    return save(fig, out_dir, f"breakdown_{run.stem}.png")


def shade_panic(axes, panic: List) -> None:
    """Panic mode as a shaded band on every panel (labelled on the first)."""
    for ax in axes:
        for k, (a, b) in enumerate(panic):
            ax.axvspan(a, b, color="tab:red", alpha=0.12, linewidth=0,
                       label="panic mode" if k == 0 and ax is axes[0] else None)


def plot_autoscaler(run: Run, out_dir: str) -> Optional[str]:
    """What the autoscaler did, from its own series (local serving or a cluster), with the KPA
    model's offline prediction from the driver's CSV beside it: each request's latency (the
    cold start), the pods (desired, requested, ready; panic shaded), the stable concurrency
    against target x utilization, and the excess burst capacity / activator in the path."""
    ready = prom_rel(run, "actual_pods")
    if ready is None or run.df is None or run.df.empty:
        return None
    end = load_end_s(run)
    fig, axes = plt.subplots(4, 1, figsize=(9, 11), sharex=True,
                             gridspec_kw={"height_ratios": [1.1, 1.3, 1, 0.8]})
    _latency_panel(axes[0], run)
    _pods_panel(axes[1], run, ready)
    _concurrency_panel(axes[2], run, ready)
    _burst_panel(axes[3], run)
    shade_panic(axes, spans(prom_rel(run, "panic_mode")))
    for ax in axes:
        if not math.isnan(end):
            ax.axvline(end, color="black", linestyle="-.", linewidth=0.8,
                       label="load ends" if ax is axes[1] else None)
        shade_warmup(ax, run, label=ax is axes[0])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right" if ax is not axes[3] else "lower left")
    return save(fig, out_dir, f"autoscaler_{run.stem}.png")


def _latency_panel(ax, run: Run) -> None:
    """Every request's latency by intended send: the cold start shows here."""
    df = run.df
    rel = (df["t_ms"].to_numpy(float) - run.start_ms) / 1000.0
    ok = (df["status"] == "success").to_numpy()
    lat = df["lat_ms"].to_numpy(float)
    ax.scatter(rel[ok], lat[ok], s=3, alpha=0.4, color="C0", linewidths=0,
               label="latency of each request (by intended send)")
    if (~ok).any():
        failed = ~ok & np.isfinite(lat)
        ax.scatter(rel[failed], lat[failed], s=8, color="tab:red", marker="x",
                   label="failed or dropped")
    ax.axhline(run.spin, color="grey", linestyle="--", label="spin")
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Autoscaling, {run.stem}")


def _pods_panel(ax, run: Run, ready: pd.Series) -> None:
    """Requested, ready and desired pods, measured and as the KPA model predicts them."""
    model = run.model
    top = [float(ready.max())]
    requested = prom_rel(run, "requested_pods")
    desired = prom_rel(run, "desired_pods")
    if requested is not None:
        ax.step(requested.index, requested.values, where="post", color="C1", linewidth=2,
                label="requested (the scale the KPA applies)")
        top.append(float(requested.max()))
    ax.step(ready.index, ready.values, where="post", color="C2", linewidth=2,
            label="ready (actual pods)")
    if model is not None:
        ax.step(model["time_s"], model["desired_pods"], where="post", color="C1",
                linestyle="--", label="KPA model: scale applied (offline, from the CSV)")
        top.append(float(model["desired_pods"].max()))
        if "ready_pods" in model.columns:
            ax.step(model["time_s"], model["ready_pods"], where="post", color="C2",
                    linestyle=":", label="KPA model: ready pods")
            top.append(float(model["ready_pods"].max()))
    ymax = max(top) + 1
    if desired is not None:
        # The decider's wish can be far above max-scale (a cold start's queue): shown up to
        # twice the other curves, with its peak written out when it goes beyond.
        if float(desired.max()) <= 2 * ymax:
            ymax = max(ymax, float(desired.max()) + 1)
        ax.step(desired.index, np.minimum(desired.values, ymax), where="post", color="C4",
                linewidth=1, alpha=0.8, label="desired (the decider's wish, before max-scale)")
        if float(desired.max()) > ymax:
            ax.annotate(f"the decider's wish peaks at {desired.max():g} pods (off the chart)",
                        xy=(0.5, 0.04), xycoords="axes fraction", ha="center", va="bottom",
                        fontsize=7, color="C4")
    ax.set_ylim(-0.1, ymax + 0.3)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("pods")


def _concurrency_panel(ax, run: Run, ready: pd.Series) -> None:
    """The stable (and panic) concurrency against the target x utilization."""
    model = run.model
    stable = prom_rel(run, "stable_concurrency")
    panic_c = prom_rel(run, "panic_concurrency")
    target = prom_rel(run, "target_concurrency")
    if stable is not None:
        ax.step(stable.index, stable.values, where="post", color="C0",
                label="stable concurrency (all pods)")
    if panic_c is not None:
        ax.step(panic_c.index, panic_c.values, where="post", color="C3", linewidth=0.8,
                alpha=0.7, label="panic concurrency")
    if target is not None:
        ax.step(target.index, target.values, where="post", color="grey", linestyle="--",
                label="target x utilization (per pod)")
        both = pd.concat([target, ready], axis=1).ffill().dropna()
        if len(both):
            ax.step(both.index, both.iloc[:, 0] * both.iloc[:, 1], where="post", color="C2",
                    linestyle=":", label="target x utilization x ready pods")
    if model is not None and "stable_value" in model.columns:
        ax.step(model["time_s"], model["stable_value"], where="post", color="C0",
                linestyle="--", label="KPA model: stable concurrency")
    ax.set_ylabel("concurrent requests")
    ax.set_ylim(bottom=0)
    # A cold start's queue can be a hundred times the target: past the capacity at target
    # the axis turns logarithmic, so that the target stays readable.
    capacity = float((target.max() if target is not None else 1) * max(1.0, ready.max()))
    peak = max([float(x.max()) for x in (stable, panic_c) if x is not None] or [0.0])
    if peak > 4 * capacity:
        ax.set_yscale("symlog", linthresh=max(1.0, capacity))
        ax.set_ylabel("concurrent requests\n(log above target x ready)")


def _burst_panel(ax, run: Run) -> None:
    """The excess burst capacity, and whether the activator is in the path."""
    model = run.model
    ebc = prom_rel(run, "excess_burst_capacity")
    if ebc is not None:
        ax.step(ebc.index, ebc.values, where="post", color="C5",
                label="excess burst capacity (< 0: activator in the path)")
    if model is not None and "excess_burst_capacity" in model.columns:
        ax.step(model["time_s"], model["excess_burst_capacity"], where="post", color="C5",
                linestyle="--", label="KPA model: excess burst capacity")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("excess burst capacity")
    inpath = prom_rel(run, "activator_in_path")
    if inpath is not None:
        twin = ax.twinx()
        twin.step(inpath.index, inpath.values, where="post", color="k", linewidth=1,
                  alpha=0.6, label="activator in the path (right axis)")
        twin.set_ylim(-0.1, 1.3)
        twin.set_yticks([0, 1], ["out", "in"])
        twin.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("time since run start (s)")


def in_flight(df: pd.DataFrame, at_s: np.ndarray, start_ms: float) -> np.ndarray:
    """Requests sent and not yet answered at each time (s since run start), from the CSV."""
    sent = df[(df["status"] != "dropped") & df["done_ms"].notna()]
    begin = np.sort((sent["send_ms"].to_numpy(float) - start_ms) / 1000.0)
    done = np.sort((sent["done_ms"].to_numpy(float) - start_ms) / 1000.0)
    return np.searchsorted(begin, at_s, side="right") - np.searchsorted(done, at_s, side="right")


def windowed_quantile(done_s: np.ndarray, values: np.ndarray, at_s: np.ndarray, window_s: float,
                      q: float) -> np.ndarray:
    """The q-quantile of the values whose completion time falls in (t - window, t], per t:
    the population a Prometheus rate window of that length sees at t."""
    order = np.argsort(done_s)
    done_s, values = done_s[order], values[order]
    lo = np.searchsorted(done_s, at_s - window_s, side="right")
    hi = np.searchsorted(done_s, at_s, side="right")
    return np.array([np.quantile(values[a:b], q) if b > a else np.nan for a, b in zip(lo, hi)])


def plot_latency_panel(ax, run: Run) -> None:
    """p95 latency over time. A Prometheus quantile is drawn only next to the CSV's quantile of
    the same requests (same meaning, same windows), with its bucket error as a band."""
    df = run.df
    basis = "intended" if run.stats.latency_source == "intended_latency_us" else "send"
    pairs = (  # (Prometheus series, CSV column, rows, label)
        ("driver_intended_p95_ms" if basis == "intended" else "driver_p95_ms",
         "intended_lat_ms" if basis == "intended" else "send_lat_ms", df["status"] != "dropped",
         "driver p95" + (" (from intended send)" if basis == "intended" else "")),
        ("worker_p95_ms", "server_spin_ms", df["status"] == "success", "worker p95"))
    done_s = (df["done_ms"].to_numpy(float) - run.start_ms) / 1000.0
    drawn = False
    for color, (name, col, rows, label) in zip(("C0", "C1"), pairs):
        prom = prom_rel(run, name)
        query = run.prom_queries.get(name)
        window = rate_window_s(query)
        values = df[col].to_numpy(float)
        ok = rows.to_numpy() & np.isfinite(values) & np.isfinite(done_s)
        if prom is None or window is None or not ok.any():
            continue
        t = prom.index.to_numpy(float)
        csv_q = windowed_quantile(done_s[ok], values[ok], t, window, 0.95)
        bound = bucket_bound(query)
        ax.plot(t, csv_q, color=color, label=f"{label}, CSV ({window:g} s windows)")
        ax.plot(t, prom.values, color=color, linestyle="--",
                label=f"{label}, Prometheus (±{100 * bound:.1f} % buckets)")
        if bound < 1:
            ax.fill_between(t, prom.values * (1 - bound), prom.values * (1 + bound), color=color,
                            alpha=0.15, linewidth=0)
        drawn = True
    if not drawn:  # no Prometheus to compare with: the CSV's p95 per second alone
        succ = df[df["status"] == "success"]
        p95 = succ.groupby(np.floor((succ["t_ms"] - run.start_ms) / 1000.0).astype(int))["lat_ms"]
        p95 = p95.quantile(0.95)
        ax.step(p95.index, p95.values, where="post", label="p95 per second (CSV)")
    ax.axhline(run.spin, color="grey", linestyle="--", label="spin")
    ax.set_ylabel("latency (ms)")


def plot_timeline(run: Run, out_dir: str) -> Optional[str]:
    df = run.df
    if df is None or df.empty:
        return None
    rel = (df["t_ms"] - run.start_ms) / 1000.0
    send_rel = (df["send_ms"] - run.start_ms) / 1000.0
    sec = np.floor(rel).astype(int)
    last = int(max(sec.max(), np.floor(send_rel.max()))) + 1
    bins = np.arange(0, last + 1)
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)

    ax = axes[0]
    target = df.groupby(sec)["rps"].mean()
    sent_per_s = np.bincount(np.floor(send_rel[df["status"] != "dropped"]).astype(int),
                             minlength=len(bins))
    ok_per_s = np.bincount(sec[df["status"] == "success"], minlength=len(bins))
    ax.step(target.index, target.values, where="post", label="target (CSV rps)")
    ax.step(np.arange(len(sent_per_s)), sent_per_s, where="post", label="sent per second")
    ax.step(np.arange(len(ok_per_s)), ok_per_s, where="post", alpha=0.7,
            label="successes per second (by intended send)")
    achieved = prom_rel(run, "driver_achieved_rps")
    if achieved is not None:
        ax.plot(achieved.index, achieved.values, label="driver_achieved_rps (Prometheus)")
    ax.set_ylabel("requests/s")
    ax.set_title(f"Timeline, {run.stem}")

    ax = axes[1]
    plot_latency_panel(ax, run)

    ax = axes[2]
    pods = prom_rel(run, "pods")
    if pods is not None:
        ax.step(pods.index, pods.values, where="post", label="measured pods (Prometheus)")
    if run.model is not None:
        ax.step(run.model["time_s"], run.model["desired_pods"], where="post", linestyle="--",
                label="KPA model desired pods")
    if pods is None and run.model is None:
        ax.text(0.5, 0.5, "no pods data (no Prometheus JSON)", ha="center",
                transform=ax.transAxes)
    ax.set_ylabel("pods")
    ax.set_ylim(bottom=0)

    ax = axes[3]
    grid = np.arange(0, last + 1, 0.25)
    ax.plot(grid, in_flight(df, grid, run.start_ms), label="driver in flight (CSV)")
    for name, label in (("driver_inflight", "driver in flight (Prometheus)"),
                        ("worker_inflight", "worker in flight (Prometheus)")):
        s = prom_rel(run, name)
        if s is not None:
            ax.plot(s.index, s.values, label=label)
    ax.set_ylabel("in flight")
    ax.set_xlabel("time since run start (s)")
    for ax in axes:
        shade_warmup(ax, run)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    return save(fig, out_dir, f"timeline_{run.stem}.png")
