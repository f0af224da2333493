"""Reading a sweep directory: which runs exist (runs.json, else the CSVs' names), their CSVs,
summaries and Prometheus JSON."""

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

RUN_RE = re.compile(r"^results-(?P<rps>\d+(?:\.\d+)?)rps-(?P<spin>\d+(?:\.\d+)?)ms"
                    r"(?:-r(?P<repeat>\d+))?\.csv$")
STATUSES = ("success", "failure", "dropped")


class InputError(Exception):
    """Bad input the user must fix; reported as one line, exit 2."""


def fmt_num(x: float) -> str:
    """Number as used in file names: 20 not 20.0."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# A Prometheus query_range result: one entry per series.
@dataclass
class PromSeries:
    metric: Dict[str, str]
    t: np.ndarray  # epoch seconds
    v: np.ndarray


@dataclass
class CsvInfo:
    format: str  # "driver" or "original"
    latency_source: str  # the CSV column latencies came from
    malformed: int
    has_warmup_column: bool


@dataclass
class Run:
    """One run of the sweep: its files, and what loading and analysis found."""
    rps: float
    spin: float
    csv_path: str
    summary_path: Optional[str] = None
    prom_path: Optional[str] = None
    tag: str = ""  # the grid point, e.g. 20rps-10ms
    stem: str = ""  # the file names' common part, e.g. 20rps-10ms or 20rps-10ms-r2
    repeat: int = 1
    # Filled by the analysis.
    df: Optional[pd.DataFrame] = None
    meas: Optional[pd.DataFrame] = None  # rows after the warm-up
    start_ms: float = float("nan")
    measured_from_s: float = 0.0  # seconds after run start where measurement begins
    stats: Optional["object"] = None  # stats.RunStats
    prom: Dict[str, List[PromSeries]] = field(default_factory=dict)
    prom_queries: Dict[str, str] = field(default_factory=dict)  # PromQL per series name
    model: Optional[pd.DataFrame] = None
    episode: Optional["object"] = None  # autoscaling.Episode, when an autoscaler ran
    breakdown: Optional["object"] = None  # breakdown.Breakdown, when the router's waits are in
    plots: List[Tuple[str, str]] = field(default_factory=list)  # (title, file name)
    notes: List[str] = field(default_factory=list)
    summary: Dict[str, object] = field(default_factory=dict)  # the driver's summary JSON
    flags: List[str] = field(default_factory=list)  # why the run is not complete and clean


RUNS_JSON = "runs.json"


def read_runs_json(results_dir: str) -> Optional[Dict[str, object]]:
    """The sweep's own record of its runs (runs.json), or None for a directory without
    one (made by hand, or by an older kit)."""
    path = os.path.join(results_dir, RUNS_JSON)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise InputError(f"{path}: not a sweep's record of its runs (no \"runs\" list)")
    return doc


def _run(results_dir: str, csv_name: str, rps: float, spin: float, stem: str,
         repeat: int) -> Run:
    run = Run(rps=rps, spin=spin, csv_path=os.path.join(results_dir, csv_name),
              tag=f"{fmt_num(rps)}rps-{fmt_num(spin)}ms", stem=stem, repeat=repeat)
    for attr, prefix in (("summary_path", "summary-"), ("prom_path", "prometheus-")):
        path = os.path.join(results_dir, f"{prefix}{stem}.json")
        if os.path.isfile(path):
            setattr(run, attr, path)
    return run


def runs_from_record(results_dir: str, doc: Dict[str, object]) -> List[Run]:
    """Each run's identity as the sweep recorded it: grid point, repeat, files. Runs that
    left no CSV (one that could not start) are not runs to analyse."""
    runs = []
    for r in doc["runs"]:
        try:
            csv_name = str((r.get("files") or {})["csv"])
            run = _run(results_dir, csv_name, float(r["rps"]), float(r["spin_ms"]),
                       str(r["name"]), int(r.get("repeat") or 1))
        except (AttributeError, KeyError, TypeError, ValueError):
            raise InputError(f"{os.path.join(results_dir, RUNS_JSON)}: a run record lacks its "
                             f"grid point, name or files: {r!r:.200}")
        if os.path.isfile(run.csv_path):
            runs.append(run)
    return runs


def runs_from_names(results_dir: str) -> List[Run]:
    """A directory without runs.json: each run's identity from its CSV's file name."""
    runs = []
    for name in os.listdir(results_dir):
        m = RUN_RE.match(name)
        if m:
            runs.append(_run(results_dir, name, float(m.group("rps")), float(m.group("spin")),
                             name[len("results-"):-len(".csv")], int(m.group("repeat") or 1)))
    return runs


def find_runs(results_dir: str) -> List[Run]:
    if not os.path.isdir(results_dir):
        raise InputError(f"results directory {results_dir} does not exist")
    doc = read_runs_json(results_dir)
    runs = runs_from_names(results_dir) if doc is None else runs_from_record(results_dir, doc)
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
    runs.sort(key=lambda r: (r.spin, r.rps, r.repeat))
    return runs


def load_csv(path: str, basis: str) -> Tuple[pd.DataFrame, CsvInfo]:
    """Read a driver CSV (new or the original's six columns) into a normalised frame.

    Columns of the result: t_ms (intended send, epoch ms), phase (schedule phase or NaN),
    send_ms (actual send),
    rps (target), status, lat_ms (chosen latency, ms, float), done_ms (answer time),
    warmup (bool or NaN); send_lat_ms, intended_lat_ms, server_spin_ms, activator_wait_ms,
    queue_wait_ms as measured (NaN where the CSV lacks them).
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
        "phase": num("phase"),
        "send_ms": send_ms,
        "rps": num("rps"),
        "status": raw["status"].str.strip(),
        "lat_ms": lat,
        # Every measured latency, whatever the basis (NaN when the CSV lacks it), ms.
        "send_lat_ms": num("latency_us") / 1000.0,
        "intended_lat_ms": num("intended_latency_us") / 1000.0,
        "server_spin_ms": num("server_spin_us") / 1000.0,
        # The waits local_serving's router reported (NaN where none did).
        "activator_wait_ms": num("activator_wait_us") / 1000.0,
        "queue_wait_ms": num("queue_wait_us") / 1000.0,
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
    info = CsvInfo(
        format="driver" if "intended_latency_us" in cols or "latency_us" in cols else "original",
        latency_source=source, malformed=malformed, has_warmup_column="warmup" in cols)
    return df, info


def load_prom(path: str) -> Tuple[Dict[str, List[PromSeries]], Dict[str, str]]:
    """name -> the series of that query, and name -> its PromQL (when recorded), from
    collect_prometheus.sh's JSON."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read Prometheus JSON: {e}")
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON array of {{name, result}}")
    out: Dict[str, List[PromSeries]] = {}
    queries: Dict[str, str] = {}
    for entry in doc:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        if isinstance(entry.get("query"), str):
            queries[str(entry["name"])] = entry["query"]
        result = entry.get("result") or {}
        data = result.get("data") or {}
        series = []
        for s in data.get("result") or []:
            values = s.get("values") or ([s["value"]] if "value" in s else [])
            t = np.array([float(v[0]) for v in values], dtype=float)
            v = np.array([float(v[1]) for v in values], dtype=float)  # "NaN" parses too
            series.append(PromSeries(metric=s.get("metric", {}), t=t, v=v))
        out[str(entry["name"])] = series
    return out, queries


def series_total(series: List[PromSeries]) -> Optional[pd.Series]:
    """Sum of all series of one query per timestamp (epoch s index), or None if empty."""
    parts = [pd.Series(s.v, index=s.t) for s in series if len(s.t)]
    if not parts:
        return None
    total = pd.concat(parts, axis=1).sum(axis=1, min_count=1).dropna()
    return total.sort_index() if len(total) else None


def prom_rel(run: Run, name: str) -> Optional[pd.Series]:
    """A Prometheus series summed over instances, indexed by seconds since run start."""
    total = series_total(run.prom.get(name, []))
    if total is None:
        return None
    total.index = total.index - run.start_ms / 1000.0
    return total


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
