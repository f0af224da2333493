"""Synthetic driver CSVs, Prometheus JSON and model output with hand-computed statistics."""

import csv
import json
import os

NEW_HEADER = ("timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,intended_latency_us,"
              "lag_us,grpc_code,pod,server_spin_us,activator_wait_us,queue_wait_us,phase,"
              "warmup").split(",")
OLD_HEADER = ["timestamp_ms", "rps", "spin_ms", "seq", "latency_ms", "status"]
T0_MS = 1_700_000_000_000  # run start (first intended send), epoch ms
LAG_US = 2000  # every sent request went out 2 ms late


def write_rows(path, rows):
    """Rows (dicts by column; missing columns empty) as a driver CSV; returns them."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=NEW_HEADER)
        w.writeheader()
        w.writerows(rows)
    return rows


def write_new_csv(path, rps=10, spin=100):
    """30 s-ish run at 10 rps: rows j=0..264 at T0 + 100 ms * j.

    j < 50 (first 5 s): warmup=1, successes of 5000 ms (must be discarded).
    Measured (j >= 50): 200 successes with intended latency 100.5 + k ms (k = 1..200),
    10 failures (30000 ms) and 5 dropped, interleaved.
    Linear-interpolated percentiles of the 200 successes (intended basis):
      p5 = 111.45, p50 = 201.0, p95 = 290.55, p99 = 298.51 ; overhead = 1.01.
    Send basis (latency_us = intended - lag 2 ms): p50 = 199.0.
    """
    rows = []
    step_ms = 1000 // rps
    kinds = ["warmup"] * 50
    measured = ["success"] * 200 + ["failure"] * 10 + ["dropped"] * 5
    # interleave failures/dropped deterministically: every 14th row is a failure or drop
    others = [k for k in measured if k != "success"]
    succ = ["success"] * 200
    mixed = []
    while succ or others:
        mixed.extend(succ[:13])
        del succ[:13]
        if others:
            mixed.append(others.pop(0))
    kinds += mixed
    k_success = 0
    for j, kind in enumerate(kinds):
        t = T0_MS + j * step_ms
        row = {"timestamp_ms": t, "rps": rps, "spin_ms": spin, "seq": j + 1, "phase": 0,
               "warmup": 1 if kind == "warmup" else 0, "pod": "worker-a",
               "server_spin_us": spin * 1000}
        if kind == "dropped":
            row.update(status="dropped", latency_ms="", latency_us="", intended_latency_us="",
                       lag_us="", grpc_code="", pod="", server_spin_us="")
        else:
            if kind == "warmup":
                intended_us = 5_000_000
                status, code = "success", "OK"
            elif kind == "failure":
                intended_us = 30_000_000
                status, code = "failure", "DEADLINE_EXCEEDED"
            else:
                k_success += 1
                intended_us = int((100.5 + k_success) * 1000)
                status, code = "success", "OK"
            lat_us = intended_us - LAG_US
            row.update(status=status, latency_ms=lat_us // 1000, latency_us=lat_us,
                       intended_latency_us=intended_us, lag_us=LAG_US, grpc_code=code)
        rows.append(row)
    return write_rows(path, rows)


def write_old_csv(path, rps=5, spin=50, garbage=True):
    """The original's six columns, 130 s at 5 rps (rows every 200 ms, j = 0..649).

    Rows before 120 s (j < 600) are 1000 ms; the 50 rows after are 51..100 ms:
    p50 = 75.5, overhead = 0.51 with the default 120 s warm-up.
    Two interleaved (corrupt) lines as the original's unlocked writer produced.
    """
    lines = [",".join(OLD_HEADER)]
    for j in range(650):
        t = T0_MS + j * 200
        lat = 1000 if j < 600 else 51 + (j - 600)
        lines.append(f"{t},{rps},{spin},{j + 1},{lat},success")
        if garbage and j == 300:
            lines.append(f"{t},{rps},{spin},9999,{t},{rps},{spin},10000,12,success")
            lines.append(f"{t},5,5success")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def prom_response(series):
    """A query_range response: series = list of (labels, [(t_s, value), ...])."""
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, str(v)] for t, v in values]}
        for labels, values in series]}}


def write_prom_json(path, extra=None, pods=True):
    """pods: 1 for t < T0+10 s, 3 from T0+10 s, one sample per second T0-5 .. T0+30
    (none with pods=False: the HPA class on a cluster has no Knative pods series).

    Over the measured window of write_new_csv (T0+5 .. T0+26.4 s): samples at 5..26
    -> five 1s and seventeen 3s: mean = 56/22.
    """
    t0 = T0_MS // 1000
    samples = [(t0 + s, 1 if s < 10 else 3) for s in range(-5, 31)] if pods else []
    entries = [{"name": "pods", "result": prom_response([({}, samples)] if pods else [])},
               {"name": "worker_inflight", "result": prom_response(
                   [({}, [(t0 + s, 2) for s in range(0, 31)])])},
               {"name": "driver_achieved_rps", "result": prom_response(
                   [({}, [(t0 + s, 9.5) for s in range(0, 31)])])}]
    for name, series in (extra or {}).items():
        entries.append({"name": name, "result": prom_response(series)})
    with open(path, "w") as f:
        json.dump(entries, f)


def autoscaler_series():
    """Knative's autoscaler series of a scale from zero, as collect_prometheus.sh names them,
    one sample per second T0+1 .. T0+30 (the run of write_new_csv: last send T0+26.4 s):

    ready (actual_pods) 0 until 3 s, 1 from 3 s, 3 from 5 s, 1 from 20 s, 0 from 28 s;
    requested 1 until 3 s, 3 from 3 s, 1 from 20 s, 0 from 27 s; the decider wished for 40
    at 3..5 s; panic mode 1 from 3 s to 12 s (9 one-second samples).
    Episode: start 0, peak ready 3, peak requested 3, peak desired 40, first ready at 3 s,
    9 s of panic, back at 0 from 28 s: 1.6 s after the last send.
    """
    t0 = T0_MS // 1000
    ts = range(1, 31)

    def pick(steps):  # steps: [(from_s, value), ...] in order
        return [(t0 + s, [v for f, v in steps if s >= f][-1]) for s in ts]
    out = {
        "actual_pods": pick([(0, 0), (3, 1), (5, 3), (20, 1), (28, 0)]),
        "requested_pods": pick([(0, 1), (3, 3), (20, 1), (27, 0)]),
        "desired_pods": pick([(0, 1), (3, 40), (6, 3), (20, 1), (26, 0)]),
        "panic_mode": pick([(0, 0), (3, 1), (12, 0)]),
        "stable_concurrency": pick([(0, 0.2), (3, 30), (8, 9), (26, 0)]),
        "panic_concurrency": pick([(0, 1), (3, 280), (6, 9), (26, 0)]),
        "target_concurrency": pick([(0, 7)]),
        "excess_burst_capacity": pick([(0, -211), (5, -190)]),
        "activator_in_path": pick([(0, 1)]),
    }
    return {name: [({}, values)] for name, values in out.items()}


LOCAL_SERVING_CONF = {
    "system": "local serving",
    "system_under_test": "local serving: the worker ran as pods (worker processes on this "
                         "machine) behind local_serving's activator and queue-proxy, scaled "
                         "from zero and back by Knative's KPA",
    "autoscaling": "KPA metric=concurrency target_per_pod=7 window=6s min_scale=0 max_scale=3",
    "autoscaling_source": "deploy/base/worker/knative-service.yaml (its autoscaling.knative.dev "
                          "annotations), then --window 6s --initial-scale 0",
    "pod_start_delay": "2s",
    "replay_check": "identical: kpa_model's replay of logs/local_serving-stats.csv gives the 12 "
                    "live decisions of logs/local_serving-decisions.csv",
}


FAKE_MODEL = r'''#!/usr/bin/python3
# Stand-in for the C++ KPA model CLI: records its argv, writes the documented columns.
import sys, os
args = sys.argv[1:]
with open(os.environ["FAKE_MODEL_LOG"], "a") as f:
    f.write(" ".join(args) + "\n")
out = args[args.index("--output") + 1]
assert os.path.isfile(args[args.index("--input") + 1])
with open(out, "w") as f:
    f.write("time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,"
            "excess_burst_capacity,activator_in_path\n")
    for t in range(0, 32, 2):
        d = 2 if t < 10 else 4
        f.write(f"{t},{d},{d},0,1.0,1.0,-5,1\n")
'''


def write_fake_model(path):
    with open(path, "w") as f:
        f.write(FAKE_MODEL)
    os.chmod(path, 0o755)


def write_staircase_csv(path, levels=((10, 10.0), (20, 20.0), (30, 30.0)), hold_s=2,
                        failures_last=3, warmup_first=True):
    """A staircase in one phase: each (rps, latency ms) level held hold_s seconds.

    Successes of level k all take exactly its latency (ms); the last level's first
    `failures_last` rows fail. Level 1 is warm-up when warmup_first. Returns the rows.
    """
    rows, seq, t = [], 0, float(T0_MS)
    for k, (rps, lat) in enumerate(levels):
        n = rps * hold_s
        for j in range(n):
            seq += 1
            fail = k == len(levels) - 1 and j < failures_last
            lat_us = int(lat * 1000)
            rows.append({"timestamp_ms": int(round(t)), "rps": rps, "spin_ms": 5, "seq": seq,
                         "latency_ms": lat_us // 1000, "status": "failure" if fail else "success",
                         "latency_us": lat_us, "intended_latency_us": lat_us, "lag_us": 0,
                         "grpc_code": "UNAVAILABLE" if fail else "OK", "pod": "worker-1",
                         "server_spin_us": 5000, "phase": 0,
                         "warmup": 1 if (warmup_first and k == 0) else 0})
            t += 1000.0 / rps
    return write_rows(path, rows)


def write_sweep_conf(path, **overrides):
    conf = {"mode": "local", "rps": "10", "spin_ms": "100", "runs": "2", "run_duration_s": "26",
            "warmup_s": "5", "fail_threshold": "0.10", "rate_window_s": "3",
            "kit_version": "0.1.0", "commit": "abc123def456", "started_utc": "2026-01-01T12:00:00Z",
            "host": "testhost", "host_cores": "2", "host_cpu": "Test CPU",
            "schedule": "constant rate for 26 s per run",
            "warmup_rule": "the driver marks the first 5 s of each run as warm-up",
            "autoscaling": "none: 1 fixed worker process(es), no autoscaler in the loop",
            "autoscaling_source": "local mode (fixed workers)",
            "worker_flags": "--shutdown-grace 5s --spin-clock=cpu", "driver_flags": "--linger 30s",
            "finished_utc": "2026-01-01T12:05:00Z"}
    conf.update(overrides)
    with open(path, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in conf.items() if v is not None))


def write_routed_csv(path, rps=10):
    """100 successes through local serving's router, 100 ms apart (10 s), none warm-up.

    Row 1 is a cold start: 1000 ms, of which 900 ms in the activator, 50 ms spin (rest 50).
    Rows 2..100: 10 ms, queued 1 ms, 8 ms spin (rest 1). Also a failure and a dropped row,
    which carry no breakdown. Over all 100: shares activator 900/1990, queue 99/1990, spin
    842/1990, rest 149/1990; p99 shares (nearest rank) 0, 0.1, 0.8, 0.1. The slowest 1 % is
    the cold start: 90 %, 0 %, 5 %, 5 %. Per second, second 0: 90, 0.9, 12.2, 5.9 ms;
    seconds 1..9: 0, 1, 8, 1 ms.
    """
    rows = []
    for j in range(102):
        row = {"timestamp_ms": T0_MS + j * 100, "rps": rps, "spin_ms": 8, "seq": j + 1,
               "phase": 0, "warmup": 0, "lag_us": 0}
        if j == 0:
            lat, act, queue, spin = 1_000_000, 900_000, 0, 50_000
        else:
            lat, act, queue, spin = 10_000, 0, 1000, 8000
        row.update(status="success", grpc_code="OK", pod="worker-a", latency_ms=lat // 1000,
                   latency_us=lat, intended_latency_us=lat, server_spin_us=spin,
                   activator_wait_us=act, queue_wait_us=queue)
        if j == 100:
            row.update(status="failure", grpc_code="UNAVAILABLE", pod="", server_spin_us="",
                       latency_us=9_000_000, intended_latency_us=9_000_000, latency_ms=9000,
                       activator_wait_us=9_000_000)
        elif j == 101:
            row.update(status="dropped", grpc_code="", pod="", latency_ms="", latency_us="",
                       intended_latency_us="", server_spin_us="", activator_wait_us="",
                       queue_wait_us="")
        rows.append(row)
    return write_rows(path, rows)
