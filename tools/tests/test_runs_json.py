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


def report_words(d):
    page = (d / "report.html").read_text()
    return page, html.unescape(re.sub(r"<[^>]+>", "", re.search(
        r"<p class='words'>(.*?)</p>", page, re.S).group(1)))


def test_the_report_says_what_each_pod_was_given_and_whether_it_was_enforced(tmp_path):
    """Issue 18: a CPU limit shows in the latencies only where a cgroup enforced it, so the
    report says which (local_serving --check-config's serving.pod_resources)."""
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv", rps=10, spin=100)
    synth.write_sweep_conf(d / "sweep.conf", runs="1", **synth.LOCAL_SERVING_CONF)
    resources = {"cpu_request_millicores": 500, "cpu_limit_millicores": 1000,
                 "memory_request_bytes": None, "memory_limit_bytes": 256 << 20,
                 "limits_enforced": "v1"}
    config = dict(CONFIG, serving={"pod_start_delay": "2s", "pod_resources": resources})
    runs = [record("10rps-100ms", 10, 100, "results-10rps-100ms.csv")]
    write_runs(d, runs, {"kind": "local serving", "serving_config": config})
    assert run_tool(d, "--no-run-plots").returncode == 0
    page, words = report_words(d)
    assert ("Pod resources: CPU request 500m, CPU limit 1, memory limit 256Mi; enforced in "
            "each pod's own cgroup (v1): a pod over its CPU limit was throttled") in words
    assert ("<tr><th>Pod resources</th><td>CPU request 500m, CPU limit 1, memory limit 256Mi "
            "<span class='note'>(enforced in each pod&#x27;s own cgroup (v1)") in page
    resources.update(limits_enforced="none: turned off (--pod-cgroups=false)",
                     cpu_limit_millicores=1500)
    write_runs(d, runs, {"kind": "local serving", "serving_config": config})
    assert run_tool(d, "--no-run-plots").returncode == 0
    _, words = report_words(d)
    assert ("CPU limit 1500m, memory limit 256Mi; not enforced (turned off "
            "(--pod-cgroups=false)): the pods ran unlimited.") in words


SWEEP_MODEL_ARGS = ["--window=6s", "--target=10", "--max-scale=3", "--initial-scale=0",
                    "--target-burst-capacity=-1", "--pod-start-delay=2s"]


def model_sweep(tmp_path, monkeypatch, system=None, conf=None):
    """A one-run sweep whose record holds the model's arguments, and the stand-in model."""
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv", rps=10, spin=100)
    synth.write_sweep_conf(d / "sweep.conf", runs="1", **(conf or {}))
    if system is not None:
        write_runs(d, [record("10rps-100ms", 10, 100, "results-10rps-100ms.csv")], system)
    model = tmp_path / "fake_model"
    synth.write_fake_model(model)
    log = tmp_path / "model.log"
    monkeypatch.setenv("FAKE_MODEL_LOG", str(log))
    return d, model, log


def model_argv(log):
    """The arguments after --input X --output Y of the model's one call."""
    (call,) = log.read_text().splitlines()
    return call.split()[4:]


def test_kpa_args_go_on_top_of_the_settings_the_sweep_ran(tmp_path, monkeypatch):
    """Issue 21 item 12: a what-if changes what it names and keeps the sweep's max-scale 3
    and 6 s window; the report and analysis.json say what changed."""
    d, model, log = model_sweep(tmp_path, monkeypatch, {
        "kind": "local serving", "class": "kpa", "serving_config": CONFIG,
        "kpa_model_args": SWEEP_MODEL_ARGS})
    res = run_tool(d, "--kpa-model", model, "--kpa-args", "--target 20 --panic-threshold-"
                   "percentage=150", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert model_argv(log) == ["--window=6s", "--max-scale=3", "--initial-scale=0",
                               "--target-burst-capacity=-1", "--pod-start-delay=2s",
                               "--target", "20", "--panic-threshold-percentage=150"]
    page = html.unescape((d / "report.html").read_text())
    assert ("--kpa-args --target 20 --panic-threshold-percentage=150 on top of the sweep's "
            "settings: target 10 \u2192 20; panic-threshold-percentage 150 (the sweep's "
            "arguments did not set it)") in page
    a = json.loads((d / "analysis.json").read_text())
    assert a["kpa_args"] == model_argv(log)
    assert a["kpa_sweep_args"] == SWEEP_MODEL_ARGS
    assert a["kpa_what_if"] == ["--target", "20", "--panic-threshold-percentage=150"]
    assert a["kpa_changed"] == [{"setting": "target", "sweep": "10", "what_if": "20"},
                                {"setting": "panic-threshold-percentage", "sweep": None,
                                 "what_if": "150"}]


def test_without_kpa_args_the_model_gets_the_sweeps_settings(tmp_path, monkeypatch):
    d, model, log = model_sweep(tmp_path, monkeypatch, {
        "kind": "fixed pods", "class": "none",
        "kpa_model_args": ["--from-manifest", "/m.yaml"]})
    assert run_tool(d, "--kpa-model", model, "--no-run-plots").returncode == 0
    assert model_argv(log) == ["--from-manifest", "/m.yaml"]
    assert "fake_model --from-manifest /m.yaml" in html.unescape((d / "report.html").read_text())


def test_an_older_sweep_gives_its_settings_through_sweep_conf(tmp_path, monkeypatch):
    d, model, log = model_sweep(tmp_path, monkeypatch,
                                conf={"kpa_model_args": "--window=6s --max-scale=3"})
    assert run_tool(d, "--kpa-model", model, "--kpa-args=--max-scale=5",
                    "--no-run-plots").returncode == 0
    assert model_argv(log) == ["--window=6s", "--max-scale=5"]


def test_the_hpa_class_has_no_kpa_settings_to_build_on(tmp_path, monkeypatch):
    d, model, log = model_sweep(tmp_path, monkeypatch, {
        "kind": "local serving", "class": "hpa", "kpa_model_args": ["--class=hpa"]})
    res = run_tool(d, "--kpa-model", model, "--kpa-args=--target 20", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert model_argv(log) == ["--target", "20"]
    assert "the sweep ran the HPA class" in res.stderr


def test_a_manifest_in_the_what_if_is_noted_as_overridden(tmp_path, monkeypatch):
    d, model, log = model_sweep(tmp_path, monkeypatch, {
        "kind": "local serving", "class": "kpa", "kpa_model_args": SWEEP_MODEL_ARGS})
    res = run_tool(d, "--kpa-model", model, "--kpa-args=--from-manifest /other.yaml",
                   "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert "which win over a manifest: name the settings to change instead" in res.stderr
    assert model_argv(log) == SWEEP_MODEL_ARGS + ["--from-manifest", "/other.yaml"]


def test_what_if_flags_are_matched_however_they_are_spelled():
    from knbench_analysis import whatif
    m = whatif.layer(["--enable-scale-to-zero=true", "--max_scale", "3", "--target=7"],
                     ["--noenable-scale-to-zero", "-max-scale=4", "--target", "7"])
    assert m.args == ["--noenable-scale-to-zero", "-max-scale=4", "--target", "7"]
    assert [c.text() for c in m.changes] == ["enable-scale-to-zero true \u2192 false",
                                            "max-scale 3 \u2192 4"]
    assert whatif.words(whatif.layer(["--target=7"], ["--target=7"])) == \
        "--kpa-args --target=7: the sweep's settings, unchanged"
