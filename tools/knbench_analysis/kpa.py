"""The KPA model CLI (kpa_model), run once per run; its desired pods are drawn and averaged."""

import math
import os
import subprocess
from typing import List

import pandas as pd

from .autoscaling import has_autoscaler
from .loading import Run

MODEL_TIMEOUT_S = 600
EXTEND_MARGIN_S = 10


def model_usable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def run_model(run: Run, model: str, model_args: List[str], out_dir: str) -> None:
    """PATH --input RUN.csv --output model-<tag>.csv ARGS; fills run.model or notes why not."""
    out_csv = os.path.join(out_dir, f"model-{run.stem}.csv")
    cmd = [model, "--input", run.csv_path, "--output", out_csv] + model_args
    tail = tail_s(run)
    if (tail >= 1 and has_autoscaler(run)
            and not any(a == "--extend" or a.startswith("--extend=") for a in model_args)):
        # With an autoscaler in the loop the run's window goes on after its load (local
        # serving: until the revision is idle again): the model decides on over that tail
        # too, with no traffic, and EXTEND_MARGIN_S more, so that its own way back to zero
        # shows when it comes later.
        cmd.append(f"--extend={math.ceil(tail) + EXTEND_MARGIN_S}s")
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
    load_model_output(run, out_csv)


def tail_s(run: Run) -> float:
    """Seconds the run's Prometheus window goes on after its last intended send (0 when
    there is no window or no row)."""
    ends = [float(s.t.max()) for series in run.prom.values() for s in series if len(s.t)]
    if not ends or run.df is None or run.df.empty:
        return 0.0
    return max(0.0, max(ends) - float(run.df["t_ms"].max()) / 1000.0)


def load_model_output(run: Run, out_csv: str) -> None:
    """Read a model-<run>.csv into run.model, its time re-based on the run start."""
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
