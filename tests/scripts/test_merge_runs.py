"""merge_runs.py: N drivers' CSVs and summaries become one run's files."""
import csv
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MERGE = os.path.join(ROOT, "scripts", "lib", "merge_runs.py")
HEADER = ("timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,intended_latency_us,"
          "lag_us,grpc_code,pod,server_spin_us,phase,warmup")


def write_driver(tmp_path, idx, rows, summary):
    p_csv = tmp_path / f"d{idx}.csv"
    p_csv.write_text(HEADER + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    p_sum = tmp_path / f"d{idx}.json"
    p_sum.write_text(json.dumps(summary))
    return str(p_csv), str(p_sum)


def row(ts, rps, seq, lat_us, status="success", warm=0, pod="worker-1", code="OK"):
    return [ts, rps, 10, seq, lat_us // 1000, status, lat_us, lat_us + 100, 100,
            code if status != "dropped" else "", pod, 10000, 0, warm]


def base_summary(target, n, **kw):
    s = {"target": target, "schedule": "3rps for 2s", "arrivals": "uniform", "scheduled": n,
         "sent": n, "success": n, "failure": 0, "dropped": 0, "warmup": 0, "duration_s": 2.0,
         "achieved_rps": 1.5, "latency_ms": {}, "intended_latency_ms": {}, "lag_ms": {},
         "phases": [], "pods": {}, "errors": {}, "write_error": None}
    s.update(kw)
    return s


def run_merge(tmp_path, inputs, summaries, rps="3"):
    out, summ = tmp_path / "merged.csv", tmp_path / "merged.json"
    subprocess.run([sys.executable, MERGE, "--rps", rps, "--out", str(out), "--summary", str(summ),
                    "--inputs", *inputs, "--summaries", *summaries], check=True)
    with open(out, newline="") as f:
        lines = f.read().splitlines()
    return lines, json.loads(summ.read_text())


def test_merges_in_time_order_with_fresh_seq_and_totals(tmp_path):
    a = write_driver(tmp_path, 1, [row(1000, 2, 1, 11000, warm=1), row(1500, 2, 2, 12000),
                                   row(2000, 2, 3, 13000, status="failure", code="UNAVAILABLE")],
                     base_summary("127.0.0.1:1", 3, success=2, failure=1,
                                  pods={"worker-1": 2}, errors={"UNAVAILABLE": 1}))
    b = write_driver(tmp_path, 2, [row(1200, 1, 1, 20000, pod="worker-2"),
                                   row(2200, 1, 2, 0, status="dropped", pod="")],
                     base_summary("127.0.0.1:2", 2, success=1, dropped=1, sent=1,
                                  pods={"worker-2": 1}, errors={}, achieved_rps=0.5))
    lines, s = run_merge(tmp_path, [a[0], b[0]], [a[1], b[1]])
    assert lines[0] == HEADER
    rows = list(csv.DictReader(lines))
    assert [r["timestamp_ms"] for r in rows] == ["1000", "1200", "1500", "2000", "2200"]
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert {r["rps"] for r in rows} == {"3"}
    assert [r["pod"] for r in rows] == ["worker-1", "worker-2", "worker-1", "worker-1", ""]
    assert (s["scheduled"], s["sent"], s["success"], s["failure"], s["dropped"], s["warmup"]) == \
        (5, 4, 3, 1, 1, 1)
    assert s["target"] == "127.0.0.1:1,127.0.0.1:2"
    assert s["pods"] == {"worker-1": 2, "worker-2": 1}
    assert s["errors"] == {"UNAVAILABLE": 1}
    assert s["achieved_rps"] == pytest.approx(2.0)
    # non-warm-up successes: 12 ms and 20 ms
    assert s["latency_ms"]["min"] == pytest.approx(12.0)
    assert s["latency_ms"]["max"] == pytest.approx(20.0)
    assert s["latency_ms"]["p50"] == pytest.approx(12.0)
    assert s["latency_ms"]["mean"] == pytest.approx(16.0)
    assert s["intended_latency_ms"]["p95"] == pytest.approx(20.1)
    assert len(s["drivers"]) == 2


def test_rejects_mismatched_headers(tmp_path):
    a = write_driver(tmp_path, 1, [row(1, 1, 1, 1000)], base_summary("a", 1))
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp_ms,rps,spin_ms,seq,latency_ms,status\n1,1,10,1,1,success\n")
    proc = subprocess.run([sys.executable, MERGE, "--rps", "2", "--out", str(tmp_path / "o.csv"),
                           "--summary", str(tmp_path / "o.json"), "--inputs", a[0], str(bad),
                           "--summaries", a[1], a[1]], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "different header" in proc.stderr
    assert not (tmp_path / "o.csv").exists()
