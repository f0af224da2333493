#!/usr/bin/python3
"""Checks that each run's Prometheus series hold that run's traffic only.

For every run of a finished sweep: no sample of the rate series in the first
half of the run is above the run's own rate plus a tolerance (a run after a
faster one used to start with the faster run's rate; later, a saturated run's
own backlog may complete faster than it was sent), the target-rate gauge
never shows more than the run's rate, and no rate() series starts before the
run's first send + the rate window.
Used by isolation_test.sh; prints what it found when a check fails.
"""
import argparse
import csv
import json
import os
import sys

RATE_SERIES = ("driver_rps", "driver_achieved_rps", "worker_rps")


def points(result):
    return [(float(t), float(v)) for s in result["data"]["result"] for t, v in s["values"]
            if v not in ("NaN", "+Inf", "-Inf")]


def summed(result):
    """Sum over series per timestamp (several drivers, several workers)."""
    out = {}
    for t, v in points(result):
        out[t] = out.get(t, 0.0) + v
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("sweep_dir")
    ap.add_argument("--tolerance", type=float, default=0.25,
                    help="allowed excess over the run's rate, relative (default 0.25)")
    ap.add_argument("--slack", type=float, default=1.0,
                    help="allowed excess over the run's rate, absolute requests/s (default 1)")
    a = ap.parse_args()
    conf = dict(line.rstrip("\n").split("=", 1)
                for line in open(os.path.join(a.sweep_dir, "sweep.conf")) if "=" in line)
    window = float(conf["rate_window_s"])
    duration = float(conf["run_duration_s"])
    errors, checked = [], 0
    runs = sorted(f[len("prometheus-"):-len(".json")] for f in os.listdir(a.sweep_dir)
                  if f.startswith("prometheus-") and f.endswith(".json"))
    for name in runs:
        rps = float(name.split("rps-")[0])
        with open(os.path.join(a.sweep_dir, f"results-{name}.csv"), newline="") as f:
            first_send = min(int(r["timestamp_ms"]) for r in csv.DictReader(f)) / 1000.0
        with open(os.path.join(a.sweep_dir, f"prometheus-{name}.json")) as f:
            prom = {e["name"]: e for e in json.load(f)}
        limit = rps * (1 + a.tolerance) + a.slack
        for series in RATE_SERIES:
            got = summed(prom[series]["result"])
            if not got:
                errors.append(f"{name}: {series} is empty")
                continue
            early = {t: v for t, v in got.items() if t <= first_send + duration / 2}
            peak_t = max(early or got, key=got.get)
            if got[peak_t] > limit:
                errors.append(f"{name}: {series} reaches {got[peak_t]:.1f} at "
                              f"{peak_t - first_send:+.1f} s, above {rps:g} rps + tolerance "
                              f"({limit:.1f}) in the first half of the run: another run's "
                              "traffic")
            if min(got) < first_send + window - 0.5:
                errors.append(f"{name}: {series} starts {min(got) - first_send:.1f} s after the "
                              f"first send, before the {window:g} s rate window is inside the run")
            checked += 1
        # With several drivers a point may hold only some of their shares: never more than
        # the run's rate, which is what another (faster) run's leftover value would show.
        target = set(summed(prom["driver_target_rps"]["result"]).values())
        if max(target, default=0.0) > rps + 1e-9:
            errors.append(f"{name}: driver_target_rps shows {sorted(target)}, above {rps:g}")
        print(f"{name}: peak rates " + ", ".join(
            f"{s} {max(summed(prom[s]['result']).values(), default=float('nan')):.1f}"
            for s in RATE_SERIES) + f"; target {sorted(target)}")
    if not runs:
        errors.append("no prometheus-*.json in the sweep")
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"ok: {len(runs)} runs, {checked} rate series hold only their own run's traffic")


if __name__ == "__main__":
    main()
