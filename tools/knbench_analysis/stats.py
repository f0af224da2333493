"""Per-run statistics: which rows count, latency percentiles, pods, as typed dataclasses."""

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd

from .loading import InputError, Run, fmt_num, load_csv, load_prom, series_total

DEFAULT_WARMUP_S = 120.0  # the original discarded the first 2 minutes of every run
NAN = float("nan")


@dataclass
class Quantiles:
    """Latency of measured successes in ms; NaN when there is none."""
    p5_ms: float = NAN
    p50_ms: float = NAN
    p95_ms: float = NAN
    p99_ms: float = NAN
    mean_ms: float = NAN


@dataclass
class RunStats:
    """One row of summary.csv: what a run measured."""
    rps: float
    spin_ms: float
    repeat: int = 1
    count: int = 0  # measured rows (after warm-up), any status
    successes: int = 0
    failures: int = 0
    dropped: int = 0
    malformed: int = 0
    warmup_rows: int = 0
    p5_ms: float = NAN
    p50_ms: float = NAN
    p95_ms: float = NAN
    p99_ms: float = NAN
    mean_ms: float = NAN
    overhead: float = NAN  # (p50 - spin) / spin
    mean_pods: float = NAN
    model_mean_desired_pods: float = NAN
    # From Knative's autoscaler series (local serving, cluster); NaN with fixed pods.
    peak_ready_pods: float = NAN
    panic_s: float = NAN
    first_latency_ms: float = NAN  # the first request's: a cold start when at 0 pods
    back_to_start_s: float = NAN  # last send -> ready pods back at the run's start count
    latency_source: str = ""
    warmup_rule: str = ""
    csv: str = ""


SUMMARY_COLUMNS = [f.name for f in fields(RunStats)]


@dataclass
class AnalysisOptions:
    latency_basis: str = "intended"  # or "send"
    warmup_seconds: Optional[float] = None  # None: the warmup column, else 120 s


def measured_mask(df: pd.DataFrame, start_ms: float, warmup_seconds: Optional[float],
                  has_warmup_column: bool) -> Tuple[pd.Series, float, str]:
    """Which rows count (not warm-up), where measurement starts (s after start), rule text."""
    if warmup_seconds is None and has_warmup_column:
        mask = ~df["warmup"].astype(bool)
        measured = df.loc[mask, "t_ms"]
        from_s = (measured.min() - start_ms) / 1000.0 if len(measured) else NAN
        return mask, from_s, "warmup column"
    secs = DEFAULT_WARMUP_S if warmup_seconds is None else warmup_seconds
    mask = (df["t_ms"] - start_ms) >= secs * 1000.0
    return mask, secs, f"first {fmt_num(secs)} s"


def percentiles(values: np.ndarray) -> Quantiles:
    """p5/p50/p95/p99 by linear interpolation between closest ranks (numpy's default)."""
    if len(values) == 0:
        return Quantiles()
    p = np.percentile(values, [5, 50, 95, 99])
    return Quantiles(p5_ms=float(p[0]), p50_ms=float(p[1]), p95_ms=float(p[2]),
                     p99_ms=float(p[3]), mean_ms=float(np.mean(values)))


def successes_ms(run: Run) -> np.ndarray:
    """Latency of the run's measured successes, ms."""
    meas = run.meas
    return meas.loc[meas["status"] == "success", "lat_ms"].to_numpy(dtype=float)


def analyze_run(run: Run, opts: AnalysisOptions) -> None:
    """Load the run's CSV and Prometheus JSON; fill run.df, run.meas, run.prom, run.stats."""
    df, info = load_csv(run.csv_path, opts.latency_basis)
    run.df = df
    if info.malformed:
        run.notes.append(f"{info.malformed} malformed row(s) skipped")
    st = RunStats(rps=run.rps, spin_ms=run.spin, repeat=run.repeat,
                  latency_source=info.latency_source,
                  malformed=info.malformed, csv=os.path.basename(run.csv_path))
    if df.empty:
        run.notes.append("no valid rows")
        mask = pd.Series(dtype=bool)
        run.start_ms, run.measured_from_s, rule = NAN, NAN, "n/a"
    else:
        run.start_ms = float(df["t_ms"].min())
        mask, run.measured_from_s, rule = measured_mask(
            df, run.start_ms, opts.warmup_seconds, info.has_warmup_column)
    st.warmup_rule = rule
    meas = df[mask] if not df.empty else df
    run.meas = meas
    st.warmup_rows = int(len(df) - len(meas))
    st.count = int(len(meas))
    st.successes = int((meas["status"] == "success").sum())
    st.failures = int((meas["status"] == "failure").sum())
    st.dropped = int((meas["status"] == "dropped").sum())
    if not df.empty and meas.empty:
        run.notes.append(f"every row is in the warm-up ({rule}); nothing measured")
    q = percentiles(successes_ms(run))
    for k, v in asdict(q).items():
        setattr(st, k, v)
    if run.spin > 0 and not math.isnan(st.p50_ms):
        st.overhead = (st.p50_ms - run.spin) / run.spin

    w0, w1 = measured_window_s(run)
    if run.prom_path:
        try:
            run.prom, run.prom_queries = load_prom(run.prom_path)
        except InputError as e:
            run.notes.append(str(e))
        pods = series_total(run.prom.get("pods", []))
        if pods is None:
            run.notes.append("Prometheus JSON has no pods samples")
        elif not math.isnan(w0):
            in_window = pods[(pods.index >= w0) & (pods.index <= w1)]
            if len(in_window):
                st.mean_pods = float(in_window.mean())
            else:
                run.notes.append("no pods samples inside the measured window")
    else:
        run.notes.append("no prometheus JSON for this run")
    run.stats = st


def measured_window_s(run: Run) -> Tuple[float, float]:
    """First and last measured row's intended send, epoch seconds (NaN when none)."""
    if run.meas is None or not len(run.meas):
        return NAN, NAN
    return float(run.meas["t_ms"].min()) / 1000.0, float(run.meas["t_ms"].max()) / 1000.0


def add_model_stats(run: Run) -> None:
    """Mean of the KPA model's desired pods over the measured window."""
    if run.model is None or run.stats is None or math.isnan(run.measured_from_s):
        return
    _, w1 = measured_window_s(run)
    m = run.model
    end_s = (w1 * 1000.0 - run.start_ms) / 1000.0
    sel = m[(m["time_s"] >= run.measured_from_s) & (m["time_s"] <= end_s)]
    if len(sel):
        run.stats.model_mean_desired_pods = float(sel["desired_pods"].mean())


def stats_frame(stats: List[RunStats]) -> pd.DataFrame:
    """The runs' statistics as a table with summary.csv's columns."""
    return pd.DataFrame([asdict(s) for s in stats], columns=SUMMARY_COLUMNS)
