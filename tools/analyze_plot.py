#!/usr/bin/python3
"""Turn one sweep's results into plots, summary.csv and report.html.

Input: a results directory (results/<sweep-id>/) holding, per run,
results-<rps>rps-<spin>ms.csv (the driver's CSV, or the original project's
six-column CSV), and optionally summary-<rps>rps-<spin>ms.json (the driver's
summary) and prometheus-<rps>rps-<spin>ms.json (scripts/collect_prometheus.sh).

Run with Debian's /usr/bin/python3 (pandas, matplotlib). See docs/analysis.md.
"""

import argparse
import html
import json
import math
import os
import re
import shlex
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RUN_RE = re.compile(r"^results-(?P<rps>\d+(?:\.\d+)?)rps-(?P<spin>\d+(?:\.\d+)?)ms\.csv$")
OLD_COLUMNS = ["timestamp_ms", "rps", "spin_ms", "seq", "latency_ms", "status"]
STATUSES = ("success", "failure", "dropped")
DEFAULT_WARMUP_S = 120.0  # the original discarded the first 2 minutes of every run
MODEL_TIMEOUT_S = 600
SUMMARY_COLUMNS = [
    "rps", "spin_ms", "count", "successes", "failures", "dropped", "malformed",
    "warmup_rows", "p5_ms", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "overhead",
    "mean_pods", "model_mean_desired_pods", "latency_source", "warmup_rule", "csv",
]


class InputError(Exception):
    """Bad input the user must fix; reported as one line, exit 2."""


def fmt_num(x: float) -> str:
    """Number as used in file names: 20 not 20.0."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass
class Run:
    rps: float
    spin: float
    csv_path: str
    summary_path: Optional[str] = None
    prom_path: Optional[str] = None
    tag: str = ""
    # Filled by analysis.
    df: Optional[pd.DataFrame] = None
    meas: Optional[pd.DataFrame] = None  # rows after the warm-up
    start_ms: float = float("nan")
    measured_from_s: float = 0.0  # seconds after run start where measurement begins
    stats: Dict[str, object] = field(default_factory=dict)
    prom: Dict[str, List[dict]] = field(default_factory=dict)
    model: Optional[pd.DataFrame] = None
    plots: List[Tuple[str, str]] = field(default_factory=list)  # (title, file name)
    notes: List[str] = field(default_factory=list)


# ---------------------------------------------------------------- discovery


def find_runs(results_dir: str) -> List[Run]:
    if not os.path.isdir(results_dir):
        raise InputError(f"results directory {results_dir} does not exist")
    runs = []
    for name in os.listdir(results_dir):
        m = RUN_RE.match(name)
        if not m:
            continue
        rps, spin = float(m.group("rps")), float(m.group("spin"))
        tag = f"{fmt_num(rps)}rps-{fmt_num(spin)}ms"
        run = Run(rps=rps, spin=spin, csv_path=os.path.join(results_dir, name), tag=tag)
        stem = name[len("results-"):-len(".csv")]
        for attr, prefix in (("summary_path", "summary-"), ("prom_path", "prometheus-")):
            path = os.path.join(results_dir, f"{prefix}{stem}.json")
            if os.path.isfile(path):
                setattr(run, attr, path)
        runs.append(run)
    if not runs:
        hint = ""
        subdirs = sorted(
            d for d in os.listdir(results_dir)
            if os.path.isdir(os.path.join(results_dir, d))
            and any(RUN_RE.match(f) for f in os.listdir(os.path.join(results_dir, d))))
        if subdirs:
            hint = f" (sweeps found in: {', '.join(subdirs[-3:])}; pass one of those)"
        raise InputError(
            f"no results-<rps>rps-<spin>ms.csv files in {results_dir}{hint}")
    runs.sort(key=lambda r: (r.spin, r.rps))
    return runs


# ---------------------------------------------------------------- CSV loading


def load_csv(path: str, basis: str) -> Tuple[pd.DataFrame, Dict[str, object]]:
    """Read a driver CSV (new or the original's six columns) into a normalised frame.

    Columns of the result: t_ms (intended send, epoch ms), send_ms (actual send),
    rps (target), status, lat_ms (chosen latency, ms, float), done_ms (answer time),
    warmup (bool or NaN).
    Rows that cannot be parsed (e.g. the original's interleaved rows) are counted
    as malformed and left out.
    """
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            data_lines = sum(1 for line in f if line.strip()) - 1
        raw = pd.read_csv(path, dtype=str, on_bad_lines="skip", skip_blank_lines=True,
                          keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file")
    except (OSError, pd.errors.ParserError) as e:
        raise InputError(f"{path}: cannot read CSV: {e}")
    cols = set(raw.columns)
    missing = [c for c in ("timestamp_ms", "status") if c not in cols]
    if missing:
        raise InputError(f"{path}: not a driver CSV, missing column(s) {', '.join(missing)}")

    def num(col: str) -> pd.Series:
        if col not in cols:
            return pd.Series(np.nan, index=raw.index)
        return pd.to_numeric(raw[col].str.strip(), errors="coerce")

    # Latency basis. "intended": from the intended send time, so time lost to a late
    # send is included (no coordinated omission); "send": from the actual send.
    # Both fall back to the original's whole-millisecond latency_ms.
    order = {"intended": ["intended_latency_us", "latency_us"], "send": ["latency_us"]}[basis]
    source = next((c for c in order if c in cols), None)
    if source is not None:
        lat = num(source) / 1000.0
    elif "latency_ms" in cols:
        source = "latency_ms"
        lat = num("latency_ms")
    else:
        raise InputError(f"{path}: no latency column (intended_latency_us, latency_us, latency_ms)")

    t_ms = num("timestamp_ms")
    send_ms = t_ms + (num("lag_us") / 1000.0).fillna(0.0)
    df = pd.DataFrame({
        "t_ms": t_ms,
        "send_ms": send_ms,
        "rps": num("rps"),
        "status": raw["status"].str.strip(),
        "lat_ms": lat,
        # When the answer (or error) arrived: intended latency counts from the intended send.
        "done_ms": (t_ms if source == "intended_latency_us" else send_ms) + lat,
    })
    df["warmup"] = (num("warmup") != 0) if "warmup" in cols else np.nan
    ok = df["t_ms"].notna() & df["status"].isin(STATUSES)
    ok &= ~((df["status"] == "success") & df["lat_ms"].isna())
    if "warmup" in cols:
        ok &= num("warmup").isin([0, 1])
    malformed = int(max(data_lines, len(raw)) - ok.sum())
    df = df[ok].sort_values("t_ms", kind="stable").reset_index(drop=True)
    info = {
        "format": "driver" if "intended_latency_us" in cols or "latency_us" in cols else "original",
        "latency_source": source,
        "malformed": malformed,
        "has_warmup_column": "warmup" in cols,
    }
    return df, info


def measured_mask(df: pd.DataFrame, start_ms: float, warmup_seconds: Optional[float],
                  has_warmup_column: bool) -> Tuple[pd.Series, float, str]:
    """Which rows count (not warm-up), where measurement starts (s after start), rule text."""
    if warmup_seconds is None and has_warmup_column:
        mask = ~df["warmup"].astype(bool)
        measured = df.loc[mask, "t_ms"]
        from_s = (measured.min() - start_ms) / 1000.0 if len(measured) else float("nan")
        return mask, from_s, "warmup column"
    secs = DEFAULT_WARMUP_S if warmup_seconds is None else warmup_seconds
    mask = (df["t_ms"] - start_ms) >= secs * 1000.0
    return mask, secs, f"first {fmt_num(secs)} s"


def percentiles(values: np.ndarray) -> Dict[str, float]:
    """p5/p50/p95/p99 by linear interpolation between closest ranks (numpy's default)."""
    if len(values) == 0:
        return {k: float("nan") for k in ("p5_ms", "p50_ms", "p95_ms", "p99_ms", "mean_ms")}
    p = np.percentile(values, [5, 50, 95, 99])
    return {"p5_ms": p[0], "p50_ms": p[1], "p95_ms": p[2], "p99_ms": p[3],
            "mean_ms": float(np.mean(values))}


# ---------------------------------------------------------------- Prometheus JSON


def load_prom(path: str) -> Dict[str, List[dict]]:
    """name -> list of {"metric": labels, "t": epoch s array, "v": value array}."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read Prometheus JSON: {e}")
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON array of {{name, result}}")
    out: Dict[str, List[dict]] = {}
    for entry in doc:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        result = entry.get("result") or {}
        data = result.get("data") or {}
        series = []
        for s in data.get("result") or []:
            values = s.get("values") or ([s["value"]] if "value" in s else [])
            t = np.array([float(v[0]) for v in values], dtype=float)
            v = np.array([float(v[1]) for v in values], dtype=float)  # "NaN" parses too
            series.append({"metric": s.get("metric", {}), "t": t, "v": v})
        out[str(entry["name"])] = series
    return out


def series_total(series: List[dict]) -> Optional[pd.Series]:
    """Sum of all series of one query per timestamp (epoch s index), or None if empty."""
    parts = [pd.Series(s["v"], index=s["t"]) for s in series if len(s["t"])]
    if not parts:
        return None
    total = pd.concat(parts, axis=1).sum(axis=1, min_count=1).dropna()
    return total.sort_index() if len(total) else None


# ---------------------------------------------------------------- KPA model


def run_model(run: Run, model: str, model_args: List[str], out_dir: str) -> None:
    out_csv = os.path.join(out_dir, f"model-{run.tag}.csv")
    cmd = [model, "--input", run.csv_path, "--output", out_csv] + model_args
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=MODEL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.notes.append(f"KPA model timed out after {MODEL_TIMEOUT_S} s")
        return
    except OSError as e:
        run.notes.append(f"KPA model could not start: {e}")
        return
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        run.notes.append(f"KPA model failed (exit {proc.returncode}): {last}")
        return
    try:
        model_df = pd.read_csv(out_csv)
    except (OSError, ValueError) as e:
        run.notes.append(f"KPA model output {out_csv} unreadable: {e}")
        return
    if not {"time_s", "desired_pods"} <= set(model_df.columns):
        run.notes.append(f"KPA model output {out_csv} lacks time_s/desired_pods columns")
        return
    # The model counts time_s from the input's first whole second; re-base on the run start
    # (the first intended send) that every other plot uses.
    if not math.isnan(run.start_ms):
        start_s = run.start_ms / 1000.0
        model_df["time_s"] = model_df["time_s"] - (start_s - math.floor(start_s))
    run.model = model_df


# ---------------------------------------------------------------- analysis


def analyze_run(run: Run, args: argparse.Namespace) -> None:
    df, info = load_csv(run.csv_path, args.latency_basis)
    run.df = df
    if info["malformed"]:
        run.notes.append(f"{info['malformed']} malformed row(s) skipped")
    stats: Dict[str, object] = {"rps": fmt_num(run.rps), "spin_ms": fmt_num(run.spin),
                                "latency_source": info["latency_source"],
                                "malformed": info["malformed"],
                                "csv": os.path.basename(run.csv_path)}
    if df.empty:
        run.notes.append("no valid rows")
        mask = pd.Series(dtype=bool)
        run.start_ms, run.measured_from_s, rule = float("nan"), float("nan"), "n/a"
    else:
        run.start_ms = float(df["t_ms"].min())
        mask, run.measured_from_s, rule = measured_mask(
            df, run.start_ms, args.warmup_seconds, info["has_warmup_column"])
    stats["warmup_rule"] = rule
    meas = df[mask] if not df.empty else df
    run.meas = meas
    stats["warmup_rows"] = int(len(df) - len(meas))
    stats["count"] = int(len(meas))
    for s, col in (("success", "successes"), ("failure", "failures"), ("dropped", "dropped")):
        stats[col] = int((meas["status"] == s).sum())
    if not df.empty and meas.empty:
        run.notes.append(f"every row is in the warm-up ({rule}); nothing measured")
    lat = meas.loc[meas["status"] == "success", "lat_ms"].to_numpy(dtype=float)
    stats.update(percentiles(lat))
    stats["overhead"] = ((stats["p50_ms"] - run.spin) / run.spin
                         if run.spin > 0 and not math.isnan(stats["p50_ms"]) else float("nan"))

    # Window of measured rows in epoch seconds, for averaging Prometheus/model series.
    if len(meas):
        w0 = float(meas["t_ms"].min()) / 1000.0
        w1 = float(meas["t_ms"].max()) / 1000.0
    else:
        w0 = w1 = float("nan")
    stats["mean_pods"] = float("nan")
    if run.prom_path:
        try:
            run.prom = load_prom(run.prom_path)
        except InputError as e:
            run.notes.append(str(e))
        pods = series_total(run.prom.get("pods", []))
        if pods is None:
            run.notes.append("Prometheus JSON has no pods samples")
        elif not math.isnan(w0):
            in_window = pods[(pods.index >= w0) & (pods.index <= w1)]
            if len(in_window):
                stats["mean_pods"] = float(in_window.mean())
            else:
                run.notes.append("no pods samples inside the measured window")
    else:
        run.notes.append("no prometheus JSON for this run")

    stats["model_mean_desired_pods"] = float("nan")
    if args.kpa_model and args.model_ok:
        run_model(run, args.kpa_model, args.kpa_args_list, args.out_dir)
        if run.model is not None and not math.isnan(run.measured_from_s):
            m = run.model
            end_s = (w1 * 1000.0 - run.start_ms) / 1000.0
            sel = m[(m["time_s"] >= run.measured_from_s) & (m["time_s"] <= end_s)]
            if len(sel):
                stats["model_mean_desired_pods"] = float(sel["desired_pods"].mean())
    run.stats = stats


def read_driver_summary(run: Run) -> Dict[str, object]:
    if not run.summary_path:
        return {}
    try:
        with open(run.summary_path, "r", encoding="utf-8") as f:
            doc = json.load(f)
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError) as e:
        run.notes.append(f"cannot read {os.path.basename(run.summary_path)}: {e}")
        return {}


# ---------------------------------------------------------------- plots


def save(fig, out_dir: str, name: str) -> str:
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    return name


def error_bars(p5: np.ndarray, p50: np.ndarray, p95: np.ndarray) -> np.ndarray:
    """matplotlib yerr: distances below and above the median, both >= 0 by construction."""
    lower = np.clip(p50 - p5, 0.0, None)
    upper = np.clip(p95 - p50, 0.0, None)
    return np.vstack([lower, upper])


def plot_latency_vs_rps(table: pd.DataFrame, spin: float, out_dir: str) -> str:
    rows = table[table["spin"] == spin].sort_values("rps_f")
    rows = rows[rows["p50_ms"].notna()]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if len(rows):
        yerr = error_bars(rows["p5_ms"].to_numpy(float), rows["p50_ms"].to_numpy(float),
                          rows["p95_ms"].to_numpy(float))
        ax.errorbar(rows["rps_f"], rows["p50_ms"], yerr=yerr, fmt="o-", capsize=4,
                    label="median (bars: p5 to p95)")
    else:
        ax.text(0.5, 0.5, "no measured successes", ha="center", transform=ax.transAxes)
    ax.axhline(spin, color="grey", linestyle="--", label=f"spin {fmt_num(spin)} ms")
    ax.set_xlabel("target rate (requests/s)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Latency vs rate, spin {fmt_num(spin)} ms")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, out_dir, f"latency_vs_rps_{fmt_num(spin)}ms.png")


def plot_overhead_heatmap(table: pd.DataFrame, out_dir: str) -> str:
    grid = table.pivot_table(index="spin", columns="rps_f", values="overhead", aggfunc="mean",
                             dropna=False)
    grid = grid.sort_index().sort_index(axis=1)
    fig, ax = plt.subplots(figsize=(1.2 * max(4, grid.shape[1]) + 2, 0.8 * max(3, grid.shape[0]) + 1.5))
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
        meas = run.meas
        lat = np.sort(meas.loc[meas["status"] == "success", "lat_ms"].to_numpy(float))
        if len(lat) == 0:
            continue
        ax.step(lat, np.arange(1, len(lat) + 1) / len(lat), where="post",
                label=f"{fmt_num(run.rps)} rps")
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


def prom_rel(run: Run, name: str) -> Optional[pd.Series]:
    """A Prometheus series summed over instances, indexed by seconds since run start."""
    total = series_total(run.prom.get(name, []))
    if total is None:
        return None
    total.index = total.index - run.start_ms / 1000.0
    return total


def shade_warmup(ax, run: Run) -> None:
    if not math.isnan(run.measured_from_s) and run.measured_from_s > 0:
        ax.axvspan(0, run.measured_from_s, color="grey", alpha=0.15, label="warm-up")


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
    ax.set_title(f"Pods over time, {run.tag}")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, out_dir, f"pods_{run.tag}.png")


def in_flight(df: pd.DataFrame, at_s: np.ndarray, start_ms: float) -> np.ndarray:
    """Requests sent and not yet answered at each time (s since run start), from the CSV."""
    sent = df[(df["status"] != "dropped") & df["done_ms"].notna()]
    begin = np.sort((sent["send_ms"].to_numpy(float) - start_ms) / 1000.0)
    done = np.sort((sent["done_ms"].to_numpy(float) - start_ms) / 1000.0)
    return np.searchsorted(begin, at_s, side="right") - np.searchsorted(done, at_s, side="right")


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
    ax.set_title(f"Timeline, {run.tag}")

    ax = axes[1]
    succ = df[df["status"] == "success"]
    p95 = succ.groupby(np.floor((succ["t_ms"] - run.start_ms) / 1000.0).astype(int))["lat_ms"]
    p95 = p95.quantile(0.95)
    ax.step(p95.index, p95.values, where="post", label="p95 per second (CSV)")
    wp95 = prom_rel(run, "worker_p95_ms")
    if wp95 is not None:
        ax.plot(wp95.index, wp95.values, label="worker p95 (Prometheus)")
    ax.axhline(run.spin, color="grey", linestyle="--", label="spin")
    ax.set_ylabel("latency (ms)")

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
        ax.legend(fontsize=7, loc="upper right")
    return save(fig, out_dir, f"timeline_{run.tag}.png")


# ---------------------------------------------------------------- outputs


def summary_table(runs: List[Run]) -> pd.DataFrame:
    table = pd.DataFrame([r.stats for r in runs], columns=SUMMARY_COLUMNS)
    table["rps_f"] = [r.rps for r in runs]
    table["spin"] = [r.spin for r in runs]
    return table


def write_summary_csv(table: pd.DataFrame, path: str) -> None:
    out = table[SUMMARY_COLUMNS].copy()
    tmp = path + ".tmp"
    out.to_csv(tmp, index=False, float_format="%.10g", na_rep="")
    os.replace(tmp, path)


def img(name: str, title: str) -> str:
    src = urllib.parse.quote(name)
    return (f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(title)}"></a>'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")


def write_report(path: str, results_dir: str, table: pd.DataFrame, runs: List[Run],
                 global_plots: List[Tuple[str, str]], notes: List[str],
                 driver_summaries: Dict[str, dict]) -> None:
    def cell(v) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in SUMMARY_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{cell(row[c])}</td>" for c in SUMMARY_COLUMNS) + "</tr>"
                   for _, row in table.iterrows())
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Knative autoscaling sweep report"
        "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
        "font-size:85%}td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}"
        "figure{display:inline-block;margin:0.5em}img{max-width:640px}</style></head><body>",
        f"<h1>Sweep report: {html.escape(os.path.abspath(results_dir))}</h1>",
        "<p>Latencies are of successful requests after the warm-up; failures and dropped "
        "requests are counted, not timed. overhead = (median latency - spin) / spin. "
        "mean_pods averages the Prometheus <code>pods</code> series over the measured window. "
        "See docs/analysis.md.</p>",
        "<h2>Summary (<a href='summary.csv'>summary.csv</a>)</h2>",
        f"<table><tr>{head}</tr>{body}</table>",
    ]
    if driver_summaries:
        parts.append("<h3>Driver summaries</h3><table><tr><th>run</th><th>scheduled</th>"
                     "<th>sent</th><th>achieved_rps</th><th>write_error</th></tr>")
        for tag, s in driver_summaries.items():
            parts.append("<tr>" + "".join(f"<td>{cell(x)}</td>" for x in (
                tag, s.get("scheduled", ""), s.get("sent", ""), s.get("achieved_rps", ""),
                s.get("write_error") or "")) + "</tr>")
        parts.append("</table>")
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
                     + "</ul>")
    parts.append("<h2>Across runs</h2>")
    parts.extend(img(name, title) for title, name in global_plots)
    parts.append("<h2>Per run</h2>")
    for run in runs:
        parts.append(f"<h3>{html.escape(run.tag)}</h3>")
        parts.extend(img(name, title) for title, name in run.plots)
    parts.append("</body></html>\n")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(tmp, path)


# ---------------------------------------------------------------- main


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="analyze_plot.py",
        description="Plots, summary.csv and report.html for one sweep's results directory "
                    "(results-<rps>rps-<spin>ms.csv, optional summary-*.json and "
                    "prometheus-*.json). Also reads the original project's six-column CSVs.")
    p.add_argument("results_dir", nargs="?", default="results",
                   help="directory with results-<rps>rps-<spin>ms.csv files (default: results)")
    p.add_argument("--out-dir", help="where plots, summary.csv and report.html go "
                                     "(default: the results directory)")
    p.add_argument("--warmup-seconds", type=float, default=None, metavar="N",
                   help="discard rows whose intended send is in the first N s of each run. "
                        "Default: the CSV's warmup column when present, else 120 s (as the "
                        "original)")
    p.add_argument("--latency-basis", choices=("intended", "send"), default="intended",
                   help="intended: latency from the intended send time (intended_latency_us, "
                        "includes schedule lag; default); send: from the actual send "
                        "(latency_us). Six-column CSVs always use latency_ms")
    p.add_argument("--kpa-model", metavar="PATH",
                   help="KPA model binary: run 'PATH --input RUN.csv --output "
                        "model-<rps>rps-<spin>ms.csv ARGS' per run and plot its desired pods")
    p.add_argument("--kpa-args", default="", metavar="ARGS",
                   help="extra arguments for --kpa-model (one string, shell-split)")
    p.add_argument("--no-run-plots", action="store_true",
                   help="skip the per-run pods and timeline plots (faster on big sweeps)")
    args = p.parse_args(argv)
    if args.warmup_seconds is not None and (args.warmup_seconds < 0
                                            or not math.isfinite(args.warmup_seconds)):
        p.error("--warmup-seconds must be a finite number >= 0")
    try:
        args.kpa_args_list = shlex.split(args.kpa_args)
    except ValueError as e:
        p.error(f"--kpa-args: {e}")
    args.out_dir = args.out_dir or args.results_dir
    return args


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    notes: List[str] = []
    try:
        runs = find_runs(args.results_dir)
        os.makedirs(args.out_dir, exist_ok=True)
        args.model_ok = False
        if args.kpa_model:
            if os.path.isfile(args.kpa_model) and os.access(args.kpa_model, os.X_OK):
                args.model_ok = True
            else:
                notes.append(f"KPA model {args.kpa_model} not found or not executable: "
                             "model curves skipped")
                print(f"analyze_plot.py: note: {notes[-1]}", file=sys.stderr)
        driver_summaries = {}
        for i, run in enumerate(runs, 1):
            print(f"analyze_plot.py: [{i}/{len(runs)}] {run.tag}", file=sys.stderr)
            analyze_run(run, args)
            s = read_driver_summary(run)
            if s:
                driver_summaries[run.tag] = s
    except InputError as e:
        print(f"analyze_plot.py: error: {e}", file=sys.stderr)
        return 2

    table = summary_table(runs)
    write_summary_csv(table, os.path.join(args.out_dir, "summary.csv"))

    global_plots: List[Tuple[str, str]] = []
    spins = sorted(set(r.spin for r in runs))
    for spin in spins:
        global_plots.append((f"Latency vs rate, spin {fmt_num(spin)} ms",
                             plot_latency_vs_rps(table, spin, args.out_dir)))
    global_plots.append(("Overhead heatmap", plot_overhead_heatmap(table, args.out_dir)))
    for spin in spins:
        global_plots.append((f"Latency CDF, spin {fmt_num(spin)} ms",
                             plot_cdf(runs, spin, args.out_dir)))
    if not args.no_run_plots:
        for run in runs:
            pods = plot_pods(run, args.out_dir)
            if pods:
                run.plots.append((f"Pods over time, {run.tag}", pods))
            timeline = plot_timeline(run, args.out_dir)
            if timeline:
                run.plots.append((f"Timeline, {run.tag}", timeline))
    for run in runs:
        notes.extend(f"{run.tag}: {n}" for n in run.notes)
    report = os.path.join(args.out_dir, "report.html")
    write_report(report, args.results_dir, table, runs, global_plots, notes, driver_summaries)
    for n in notes:
        print(f"analyze_plot.py: note: {n}", file=sys.stderr)
    print(os.path.abspath(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
