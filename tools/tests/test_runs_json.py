"""The analysis reads each run's identity from the sweep's runs.json (grid point, repeat,
name, files, status) and local serving's resolved settings from it; file names are
parsed only in a directory without one."""
import html
import json
import os
import re
import sys

import pandas as pd

import synth

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
from knbench_analysis.loading import find_runs  # noqa: E402
from knbench_analysis.sweep import read_sweep_info  # noqa: E402
from test_analyze_plot import run_tool  # noqa: E402

CONFIG = {"program": "local_serving", "class": "kpa",
          "settings": {"metric": "concurrency", "target": 10, "window": "9s",
                       "container_concurrency": 0, "min_scale": 0, "max_scale": 5,
                       "enable_scale_to_zero": True, "target_utilization_percentage": 70.0},
          "derived": {"target_per_pod": 7.0, "total_target": 10.0},
          "serving": {"pod_start_delay": "2s"}}


def record(name, rps, spin, csv_name, status="ok", repeat=1, idle=True):
    return {"index": 1, "rps": rps, "spin_ms": spin, "repeat": repeat, "name": name,
            "files": {"csv": csv_name, "summary": f"summary-{name}.json",
                      "prometheus": f"prometheus-{name}.json"},
            "status": status, "collect": "ok", "idle_confirmed": idle}


def write_runs(d, runs, system=None):
    (d / "runs.json").write_text(json.dumps({"format": "knbench-sweep-runs/1", "runs": runs,
                                             "system": system or {}}))


def test_runs_come_from_runs_json_not_file_names(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv", rps=10, spin=100)
    synth.write_new_csv(d / "results-20rps-100ms.csv", rps=20, spin=100)  # not in runs.json
    synth.write_new_csv(d / "results-30rps-50ms-r2.csv", rps=30, spin=50)
    write_runs(d, [record("10rps-100ms", 10, 100, "results-10rps-100ms.csv"),
                   record("30rps-50ms-r2", 30, 50, "results-30rps-50ms-r2.csv", repeat=2),
                   # a run that could not start left no CSV: nothing to analyse
                   record("40rps-50ms", 40, 50, "results-40rps-50ms.csv", status="error")])
    runs = find_runs(str(d))
    assert [(r.rps, r.spin, r.repeat, r.stem) for r in runs] == [
        (30.0, 50.0, 2, "30rps-50ms-r2"), (10.0, 100.0, 1, "10rps-100ms")]
    assert runs[0].tag == "30rps-50ms"
    os.unlink(d / "runs.json")  # an older sweep: the names say it all
    assert sorted(r.stem for r in find_runs(str(d))) == ["10rps-100ms", "20rps-100ms",
                                                         "30rps-50ms-r2"]


def test_records_flag_runs_and_the_words_come_from_the_recorded_settings(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv", rps=10, spin=100)
    synth.write_new_csv(d / "results-20rps-100ms.csv", rps=20, spin=100)
    # sweep.conf's autoscaling line says 6s; the recorded object (9s) is what the report uses.
    synth.write_sweep_conf(d / "sweep.conf", runs="2", **synth.LOCAL_SERVING_CONF)
    write_runs(d, [record("10rps-100ms", 10, 100, "results-10rps-100ms.csv", idle=False),
                   record("20rps-100ms", 20, 100, "results-20rps-100ms.csv", status="running")],
               {"kind": "local serving", "serving_config": CONFIG})
    info = read_sweep_info(str(d))
    assert info.serving_config == CONFIG
    assert (info.records["10rps-100ms"].idle, info.records["20rps-100ms"].status) == \
        ("no", "running")
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    page = (d / "report.html").read_text()
    words = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<p class='words'>(.*?)</p>", page,
                                                            re.S).group(1)))
    assert ("Autoscaling: the KPA, metric concurrency, target 7 per pod (target x utilization), "
            "containerConcurrency 0, stable window 9s, min-scale 0, max-scale 5 (from") in words
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r"<tr><td><a href='#run-([^']+)'>.*?</tr>", page)}
    assert "started without the idle state confirmed" in rows["10rps-100ms"]
    assert "interrupted" in rows["20rps-100ms"]  # still "running": the sweep was killed
    assert len(pd.read_csv(d / "summary.csv")) == 2
