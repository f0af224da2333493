"""One run's files from the CSVs and summaries of its N drivers (local fixed pods with
--local-pods N: driver i aimed at worker i; cluster mode with CLUSTER_DRIVER_PODS=N).

The merged CSV has every input row, ordered by intended send time, with seq renumbered
from 1 and the rps column set to the run's total target rate. The merged summary keeps
the driver's summary keys; counts, pods and errors are sums, latency percentiles are
recomputed (nearest rank) from the merged rows, and "drivers" holds the original
per-driver summaries.
"""
import csv
import io
import json
import math
from typing import Dict, List, Sequence, Tuple

from .records import write_atomic

LATENCY_KEYS = ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max")


class MergeError(Exception):
    pass


def percentile(sorted_values: List[float], q: float):
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def stats_ms(values_us: List[float]) -> Dict[str, object]:
    v = sorted(x / 1000.0 for x in values_us)
    if not v:
        return {k: None for k in LATENCY_KEYS}
    return {"min": v[0], "mean": sum(v) / len(v), "p50": percentile(v, 50),
            "p90": percentile(v, 90), "p95": percentile(v, 95),
            "p99": percentile(v, 99), "p999": percentile(v, 99.9), "max": v[-1]}


def read_rows(inputs: Sequence[str]) -> Tuple[List[str], List[Tuple[int, int, List[str]]]]:
    """The common header, and (intended send, driver, row) for every row of every CSV."""
    header, rows = None, []
    for idx, path in enumerate(inputs):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            h = next(reader, None)
            if h is None:
                raise MergeError(f"{path} is empty")
            if header is None:
                header = h
            elif h != header:
                raise MergeError(f"{path} has a different header")
            rows.extend((int(r[0]), idx, r) for r in reader if r)
    rows.sort(key=lambda t: (t[0], t[1]))
    return header or [], rows


def renumber(header: List[str], rows, rps: str) -> Dict[str, object]:
    """seq from 1 and the total rate in every row; the counts and latencies they hold."""
    col = {name: i for i, name in enumerate(header)}
    lat, intended, lag = [], [], []
    counts = {"success": 0, "failure": 0, "dropped": 0}
    warm = 0
    for seq, (_, _, r) in enumerate(rows, start=1):
        r[col["seq"]] = str(seq)
        r[col["rps"]] = rps
        status = r[col["status"]]
        counts[status] = counts.get(status, 0) + 1
        is_warm = r[col["warmup"]] == "1" if "warmup" in col else False
        warm += is_warm
        if status != "dropped" and not is_warm and r[col["lag_us"]]:
            lag.append(float(r[col["lag_us"]]))
        if status == "success" and not is_warm:
            lat.append(float(r[col["latency_us"]]))
            intended.append(float(r[col["intended_latency_us"]]))
    return {"counts": counts, "warm": warm, "lat": lat, "intended": intended, "lag": lag}


def merged_summary(summaries: List[dict], n_rows: int, seen: Dict[str, object]) -> dict:
    pods: Dict[str, int] = {}
    errors: Dict[str, int] = {}
    for s in summaries:
        for k, v in (s.get("pods") or {}).items():
            pods[k] = pods.get(k, 0) + v
        for k, v in (s.get("errors") or {}).items():
            errors[k] = errors.get(k, 0) + v
    counts = seen["counts"]
    lag = stats_ms(seen["lag"])
    first = summaries[0]
    return {
        "target": ",".join(str(s.get("target")) for s in summaries),
        "schedule": first.get("schedule"), "arrivals": first.get("arrivals"),
        "scheduled": n_rows, "sent": n_rows - counts.get("dropped", 0),
        "success": counts.get("success", 0), "failure": counts.get("failure", 0),
        "dropped": counts.get("dropped", 0), "warmup": seen["warm"],
        "duration_s": max(float(s.get("duration_s") or 0) for s in summaries),
        "achieved_rps": sum(float(s.get("achieved_rps") or 0) for s in summaries),
        "latency_ms": stats_ms(seen["lat"]), "intended_latency_ms": stats_ms(seen["intended"]),
        "lag_ms": {"p50": lag["p50"], "p99": lag["p99"], "max": lag["max"]},
        "phases": first.get("phases"), "pods": pods, "errors": errors,
        "write_error": next((s["write_error"] for s in summaries if s.get("write_error")),
                            None),
        "drivers": summaries,
    }


def merge(rps: str, out: str, summary: str, inputs: Sequence[str],
          summaries: Sequence[str]) -> None:
    """Write the run's CSV `out` and summary JSON `summary`; MergeError on bad input."""
    if len(inputs) != len(summaries):
        raise MergeError("--inputs and --summaries differ in length")
    header, rows = read_rows(inputs)
    docs = []
    for path in summaries:
        with open(path) as f:
            docs.append(json.load(f))
    seen = renumber(header, rows, str(rps))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(r for _, _, r in rows)
    write_atomic(out, buf.getvalue())
    write_atomic(summary, json.dumps(merged_summary(docs, len(rows), seen), indent=2) + "\n")

