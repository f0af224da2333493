#!/usr/bin/python3
"""Merge the CSVs and summaries of N load_driver processes that ran one grid
point together (local mode with --workers N: driver i aimed at worker i).

The merged CSV has every input row, ordered by intended send time, with seq
renumbered from 1 and the rps column set to the run's total target rate. The
merged summary keeps the driver's summary keys; counts, pods and errors are
sums, latency percentiles are recomputed (nearest rank) from the merged rows,
and "drivers" holds the original per-driver summaries.
"""
import argparse
import csv
import json
import math
import os
import sys


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def stats_ms(values_us):
    v = sorted(x / 1000.0 for x in values_us)
    if not v:
        return {k: None for k in
                ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max")}
    return {"min": v[0], "mean": sum(v) / len(v), "p50": percentile(v, 50),
            "p90": percentile(v, 90), "p95": percentile(v, 95),
            "p99": percentile(v, 99), "p999": percentile(v, 99.9),
            "max": v[-1]}


def write_atomic(path, write):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        write(f)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rps", required=True, help="the run's total target rate")
    ap.add_argument("--out", required=True, help="merged CSV to write")
    ap.add_argument("--summary", required=True, help="merged summary JSON")
    ap.add_argument("--inputs", nargs="+", required=True)
    ap.add_argument("--summaries", nargs="+", required=True)
    args = ap.parse_args()
    if len(args.inputs) != len(args.summaries):
        sys.exit("merge_runs.py: error: --inputs and --summaries differ in length")

    header, rows = None, []
    for idx, path in enumerate(args.inputs):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            h = next(reader, None)
            if h is None:
                sys.exit(f"merge_runs.py: error: {path} is empty")
            if header is None:
                header = h
            elif h != header:
                sys.exit(f"merge_runs.py: error: {path} has a different header")
            rows.extend((int(r[0]), idx, r) for r in reader if r)
    rows.sort(key=lambda t: (t[0], t[1]))
    col = {name: i for i, name in enumerate(header)}

    summaries = []
    for path in args.summaries:
        with open(path) as f:
            summaries.append(json.load(f))

    lat, intended, lag = [], [], []
    counts = {"success": 0, "failure": 0, "dropped": 0}
    warm = 0
    for seq, (_, _, r) in enumerate(rows, start=1):
        r[col["seq"]] = str(seq)
        r[col["rps"]] = args.rps
        status = r[col["status"]]
        counts[status] = counts.get(status, 0) + 1
        is_warm = r[col["warmup"]] == "1" if "warmup" in col else False
        warm += is_warm
        if status != "dropped" and not is_warm and r[col["lag_us"]]:
            lag.append(float(r[col["lag_us"]]))
        if status == "success" and not is_warm:
            lat.append(float(r[col["latency_us"]]))
            intended.append(float(r[col["intended_latency_us"]]))

    def write_csv(f):
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(r for _, _, r in rows)

    write_atomic(args.out, write_csv)

    pods, errors = {}, {}
    for s in summaries:
        for k, v in (s.get("pods") or {}).items():
            pods[k] = pods.get(k, 0) + v
        for k, v in (s.get("errors") or {}).items():
            errors[k] = errors.get(k, 0) + v
    lag_stats = stats_ms(lag)
    first = summaries[0]
    merged = {
        "target": ",".join(str(s.get("target")) for s in summaries),
        "schedule": first.get("schedule"),
        "arrivals": first.get("arrivals"),
        "scheduled": len(rows),
        "sent": len(rows) - counts.get("dropped", 0),
        "success": counts.get("success", 0),
        "failure": counts.get("failure", 0),
        "dropped": counts.get("dropped", 0),
        "warmup": warm,
        "duration_s": max(float(s.get("duration_s") or 0) for s in summaries),
        "achieved_rps": sum(float(s.get("achieved_rps") or 0) for s in summaries),
        "latency_ms": stats_ms(lat),
        "intended_latency_ms": stats_ms(intended),
        "lag_ms": {"p50": lag_stats["p50"], "p99": lag_stats["p99"],
                   "max": lag_stats["max"]},
        "phases": first.get("phases"),
        "pods": pods,
        "errors": errors,
        "write_error": next((s["write_error"] for s in summaries
                             if s.get("write_error")), None),
        "drivers": summaries,
    }
    write_atomic(args.summary,
                 lambda f: (json.dump(merged, f, indent=2), f.write("\n")))


if __name__ == "__main__":
    main()
