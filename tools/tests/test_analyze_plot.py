"""tools/analyze_plot.py on synthetic runs whose statistics are known by construction."""

import contextlib
import json
import csv
import html
import io
import os
import re
import subprocess
import sys
import types

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

import synth

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOOLS, "analyze_plot.py")
sys.path.insert(0, TOOLS)
import analyze_plot  # noqa: E402  (the entry point)
from knbench_analysis import plots, repeats  # noqa: E402
from knbench_analysis.stats import RunStats  # noqa: E402

PY = "/usr/bin/python3"


def run_cli(*args, env=None):
    """The real command line, in a fresh interpreter."""
    return subprocess.run([PY, SCRIPT, *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


def run_tool(*args):
    """analyze_plot.main() in this process: same code path, without the import cost."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = analyze_plot.main([str(a) for a in args])
        except SystemExit as e:  # argparse errors and --help
            rc = e.code
    return types.SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


def read_summary(out_dir):
    df = pd.read_csv(os.path.join(out_dir, "summary.csv"))
    return {(int(r.rps), int(r.spin_ms)): r for r in df.itertuples()}


def make_sweep(d):
    """A results dir: a driver-format run with Prometheus data and an original-format run."""
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv", rps=10, spin=100)
    synth.write_prom_json(d / "prometheus-10rps-100ms.json")
    synth.write_old_csv(d / "results-5rps-50ms.csv", rps=5, spin=50)
    (d / "summary-10rps-100ms.json").write_text(
        '{"scheduled": 265, "sent": 260, "achieved_rps": 9.8, "write_error": null}')
    return d


@pytest.fixture
def sweep(tmp_path):
    return make_sweep(tmp_path / "sweep")


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    """The sweep analysed once with default flags (shared, read-only)."""
    d = make_sweep(tmp_path_factory.mktemp("analyzed") / "sweep")
    res = run_cli(d)
    assert res.returncode == 0, res.stderr
    return d, res


def test_summary_values_driver_and_original_csv(analyzed):
    sweep, res = analyzed
    assert res.stdout.strip().splitlines()[-1] == str(sweep / "report.html")
    with open(sweep / "summary.csv") as f:
        header = next(csv.reader(f))
    for col in ("rps", "spin_ms", "count", "failures", "p50_ms", "p95_ms", "p99_ms", "overhead",
                "mean_pods"):
        assert col in header
    s = read_summary(sweep)
    new = s[(10, 100)]
    # Warm-up column: 50 rows discarded; 215 measured = 200 successes + 10 failures + 5 dropped.
    assert (new.count, new.successes, new.failures, new.dropped, new.warmup_rows) == (
        215, 200, 10, 5, 50)
    assert new.warmup_rule == "warmup column"
    # Sub-ms intended latency: p50 201.0 (whole-ms latency_ms would give 199.0).
    assert new.latency_source == "intended_latency_us"
    assert new.p5_ms == pytest.approx(111.45)
    assert new.p50_ms == pytest.approx(201.0)
    assert new.p95_ms == pytest.approx(290.55)
    assert new.p99_ms == pytest.approx(298.51)
    assert new.overhead == pytest.approx(1.01)
    # Pods averaged over the measured window only (all samples would give a different mean).
    assert new.mean_pods == pytest.approx(56 / 22)

    old = s[(5, 50)]
    # Original six columns: no warm-up column, so the original's 120 s rule; 2 corrupt lines.
    assert old.warmup_rule == "first 120 s"
    assert (old.count, old.successes, old.failures, old.warmup_rows, old.malformed) == (
        50, 50, 0, 600, 2)
    assert old.latency_source == "latency_ms"
    assert old.p50_ms == pytest.approx(75.5)
    assert old.overhead == pytest.approx(0.51)
    assert np.isnan(old.mean_pods)


def test_latency_basis_send_uses_latency_us(sweep):
    res = run_tool(sweep, "--latency-basis", "send", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    new = read_summary(sweep)[(10, 100)]
    assert new.latency_source == "latency_us"
    assert new.p50_ms == pytest.approx(199.0)  # intended minus the 2 ms schedule lag


def test_warmup_seconds_flag_overrides_column_and_default(sweep):
    res = run_tool(sweep, "--warmup-seconds", "0", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    s = read_summary(sweep)
    new, old = s[(10, 100)], s[(5, 50)]
    assert (new.count, new.warmup_rows, new.successes) == (265, 0, 250)
    assert new.p99_ms == pytest.approx(5000.0)  # the 50 warm-up rows of 5000 ms now count
    assert (old.count, old.warmup_rows) == (650, 0)

    res = run_tool(sweep, "--warmup-seconds", "10", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    s = read_summary(sweep)
    new = s[(10, 100)]
    assert new.warmup_rule == "first 10 s"
    assert (new.count, new.warmup_rows) == (165, 100)  # rows j >= 100 (t >= 10 s)
    # pods window now starts at T0+10 s: samples 10..26 are all 3.
    assert new.mean_pods == pytest.approx(3.0)
    assert s[(5, 50)].count == 650 - 50  # old CSV: 10 s at 5 rps discarded


def test_all_rows_in_warmup_is_reported_not_fatal(tmp_path):
    synth.write_old_csv(tmp_path / "results-5rps-50ms.csv", garbage=False)
    res = run_tool(tmp_path, "--warmup-seconds", "1000", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    row = read_summary(tmp_path)[(5, 50)]
    assert row.count == 0 and row.warmup_rows == 650 and np.isnan(row.p50_ms)
    assert "nothing measured" in res.stderr


def test_error_bars_are_distances_from_the_median():
    p5, p50, p95 = np.array([111.45, 10.0]), np.array([201.0, 12.0]), np.array([290.55, 30.0])
    yerr = plots.error_bars(p5, p50, p95)
    assert yerr.shape == (2, 2)
    np.testing.assert_allclose(yerr[0], [201.0 - 111.45, 2.0])  # lower: median - p5
    np.testing.assert_allclose(yerr[1], [290.55 - 201.0, 18.0])  # upper: p95 - median
    assert (yerr >= 0).all()


def test_latency_plot_draws_bars_from_p5_to_p95(sweep, monkeypatch):
    """The bars matplotlib receives end exactly at p5 and p95 (the original drew p95 below)."""
    stats = [RunStats(rps=20.0, spin_ms=100.0, p5_ms=150.0, p50_ms=200.0, p95_ms=400.0),
             RunStats(rps=10.0, spin_ms=100.0, p5_ms=110.0, p50_ms=120.0, p95_ms=180.0)]
    seen = {}
    real = plots.plt.Axes.errorbar

    def spy(self, x, y, yerr=None, **kw):
        seen.update(x=np.asarray(x), y=np.asarray(y), yerr=np.asarray(yerr))
        return real(self, x, y, yerr=yerr, **kw)

    monkeypatch.setattr(plots.plt.Axes, "errorbar", spy)
    name = plots.plot_latency_vs_rps(stats, 100.0, str(sweep))
    assert name == "latency_vs_rps_100ms.png"
    np.testing.assert_allclose(seen["x"], [10, 20])  # sorted by rate
    np.testing.assert_allclose(seen["y"] - seen["yerr"][0], [110, 150])  # bottoms at p5
    np.testing.assert_allclose(seen["y"] + seen["yerr"][1], [180, 400])  # tops at p95


def test_in_flight_counts_sent_not_answered():
    # 10 requests/s from t=0, each answered 250 ms after its send.
    t = synth.T0_MS + np.arange(20) * 100.0
    df = pd.DataFrame({"t_ms": t, "send_ms": t, "status": "success", "lat_ms": 250.0,
                       "done_ms": t + 250.0})
    got = plots.in_flight(df, np.array([0.0, 0.05, 1.05, 5.0]), synth.T0_MS)
    # t=0: one sent, none done; t=1.05: sends 0..1.0 (11), done <= 1.05 (9); t=5: all done.
    assert list(got) == [1, 1, 2, 0]


def png_ok(path):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", path
    assert os.path.getsize(path) > 5000, path
    img = (mpimg.imread(path)[..., :3] * 255).astype(np.uint32)
    assert img.shape[0] > 200 and img.shape[1] > 300
    # Not a blank canvas: many distinct colours.
    packed = (img[..., 0] << 16) | (img[..., 1] << 8) | img[..., 2]
    assert len(np.unique(packed)) > 20, path


def test_plots_exist_are_real_and_report_links_every_one(analyzed):
    sweep, _ = analyzed
    expected = {"latency_vs_rps_100ms.png", "latency_vs_rps_50ms.png", "overhead_heatmap.png",
                "latency_cdf_100ms.png", "latency_cdf_50ms.png", "pods_10rps-100ms.png",
                "timeline_10rps-100ms.png", "timeline_5rps-50ms.png"}
    pngs = {f for f in os.listdir(sweep) if f.endswith(".png")}
    assert expected <= pngs
    # No Prometheus data and no model for the old run: no pods plot for it.
    assert "pods_5rps-50ms.png" not in pngs
    for p in pngs:
        png_ok(sweep / p)
    html = (sweep / "report.html").read_text()
    srcs = set(re.findall(r'<img src="([^"]+)"', html))
    assert srcs == pngs  # every plot shown, nothing that does not exist
    assert 'href="summary.csv"' in html.replace("'", '"')
    assert "201" in html and "1.01" in html  # the table is there
    assert "9.8" in html  # driver summary achieved_rps


def test_kpa_model_is_run_per_run_and_its_pods_summarised(sweep, tmp_path, monkeypatch):
    model = tmp_path / "fake_model"
    synth.write_fake_model(model)
    log = tmp_path / "model.log"
    monkeypatch.setenv("FAKE_MODEL_LOG", str(log))
    res = run_tool(sweep, "--kpa-model", model, "--kpa-args", "--target 10 --window '60s'")
    assert res.returncode == 0, res.stderr
    calls = sorted(log.read_text().splitlines())
    assert calls == sorted(
        f"--input {sweep}/results-{tag}.csv --output {sweep}/model-{tag}.csv --target 10 "
        f"--window 60s" for tag in ("10rps-100ms", "5rps-50ms"))
    s = read_summary(sweep)
    # Ticks 6, 8 (desired 2) and 10..26 (desired 4) fall in the measured window 5..26.4 s.
    assert s[(10, 100)].model_mean_desired_pods == pytest.approx(40 / 11)
    # Old run measured from 120 s: the model's output (0..30 s) has no tick there.
    assert np.isnan(s[(5, 50)].model_mean_desired_pods)
    assert os.path.isfile(sweep / "pods_5rps-50ms.png")  # model curve alone makes a pods plot


def test_autoscaler_series_make_the_autoscaling_plot_numbers_and_words(tmp_path, monkeypatch):
    """A run with Knative's autoscaler series (local serving): its scale from zero, panic and
    way back to zero in numbers, in the report's opening words and in its own plot; the KPA
    model is asked to decide on over the window's tail."""
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv", rps=10, spin=100)
    synth.write_prom_json(d / "prometheus-10rps-100ms.json", extra=synth.autoscaler_series())
    synth.write_sweep_conf(d / "sweep.conf", runs="1", **synth.LOCAL_SERVING_CONF)
    model = tmp_path / "fake_model"
    synth.write_fake_model(model)
    log = tmp_path / "model.log"
    monkeypatch.setenv("FAKE_MODEL_LOG", str(log))
    res = run_tool(d, "--kpa-model", model, "--kpa-args=--window=6s")
    assert res.returncode == 0, res.stderr
    # The window ends 3.6 s after the last send: 4 s, plus 10 s for the model's own way down.
    assert log.read_text().split()[-2:] == ["--window=6s", "--extend=14s"]
    s = read_summary(d)[(10, 100)]
    assert s.peak_ready_pods == 3
    assert s.panic_s == 9
    assert s.first_latency_ms == 5000  # the first (warm-up) request of write_new_csv
    assert s.back_to_start_s == pytest.approx(1.6)
    page = (d / "report.html").read_text()
    words = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<p class='words'>(.*?)</p>", page,
                                                            re.S).group(1)))
    for want in ("What ran: local serving: the worker ran as pods",
                 "Autoscaling: the KPA, metric concurrency, target 7 per pod (target x "
                 "utilization), stable window 6s, min-scale 0, max-scale 3 (from "
                 "deploy/base/worker/knative-service.yaml",
                 "Pod start delay 2s", "1 of 1 runs started at 0 pods",
                 "ready pods peaked at 3 pods", "1 of 1 entered panic mode",
                 "the first request waited 5.0 s (the cold start)",
                 "1 of 1 went back to 0 pods 2 s after their last request was sent",
                 "Live vs offline decisions: identical: kpa_model's replay of "
                 "logs/local_serving-stats.csv gives the 12 live decisions"):
        assert want in words, (want, words)
    assert ("scaled from zero: first pod ready 3 s after the first send; the first request "
            "took 5.00 s (cold start); up to 3 ready pod(s) (3 requested; the decider wished "
            "for 40, max-scale capped it); 9 s in panic mode; back to 0 pod(s) 2 s after the "
            "last send") in page
    # The autoscaling plot replaces the plain pods plot, and is shown.
    assert os.path.isfile(d / "autoscaler_10rps-100ms.png")
    png_ok(d / "autoscaler_10rps-100ms.png")
    assert not os.path.isfile(d / "pods_10rps-100ms.png")
    assert 'src="autoscaler_10rps-100ms.png"' in page


def test_panic_spans_and_plot_without_autoscaler(sweep):
    from knbench_analysis.autoscaling import spans
    s = pd.Series([0, 1, 1, 0, 0, 1], index=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    assert spans(s) == [(1.0, 3.0), (5.0, 6.0)]
    assert spans(pd.Series([0, 0], index=[0.0, 1.0])) == []
    assert spans(None) == []
    # Fixed pods: no autoscaler series, no autoscaling plot, the pods plot as before.
    res = run_tool(sweep)
    assert res.returncode == 0, res.stderr
    assert not os.path.isfile(sweep / "autoscaler_10rps-100ms.png")
    assert os.path.isfile(sweep / "pods_10rps-100ms.png")


def test_partial_sweep_says_why(tmp_path):
    d = make_sweep(tmp_path / "sweep")
    synth.write_sweep_conf(d / "sweep.conf", finished_utc=None, status="partial",
                           partial_because="interrupted (SIGINT) after 1 of 2 runs started")
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert ("the sweep did not finish (interrupted (SIGINT) after 1 of 2 runs started): runs "
            "are missing") in (d / "report.html").read_text()


def test_missing_kpa_model_is_skipped_with_a_note(sweep, tmp_path):
    res = run_tool(sweep, "--kpa-model", tmp_path / "no-such-model", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert "not found or not executable" in res.stderr
    assert "not found or not executable" in (sweep / "report.html").read_text()


def test_failing_kpa_model_is_noted(sweep, tmp_path):
    model = tmp_path / "bad_model"
    model.write_text("#!/bin/sh\necho 'bad --target' >&2\nexit 3\n")
    model.chmod(0o755)
    res = run_tool(sweep, "--kpa-model", model, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert "KPA model failed (exit 3): bad --target" in res.stderr


@pytest.mark.skipif(not os.path.isfile(os.environ.get("KNBENCH_KPA_MODEL", "")),
                    reason="KNBENCH_KPA_MODEL (the built kpa_model CLI) not set or not built")
def test_real_kpa_model_output_is_plotted(sweep):
    model = os.environ["KNBENCH_KPA_MODEL"]
    res = run_tool(sweep, "--kpa-model", model)
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(sweep / "model-10rps-100ms.csv")
    assert list(out.columns[:3]) == ["time_s", "desired_pods", "ready_pods"]
    assert np.allclose(np.diff(out["time_s"]), 2.0)  # one row per 2 s tick
    assert (out["desired_pods"] >= 0).all()
    assert not np.isnan(read_summary(sweep)[(10, 100)].model_mean_desired_pods)


def test_missing_or_empty_dir_is_one_clear_error(tmp_path):
    res = run_cli(tmp_path / "nope")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"analyze_plot.py: error: results directory {tmp_path / 'nope'} does not exist"]
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_tool(empty)
    assert res.returncode == 2
    assert "no results-<rps>rps-<spin>ms.csv files" in res.stderr
    assert not (empty / "report.html").exists()


def test_parent_results_dir_hints_at_sweeps(tmp_path):
    sweep = tmp_path / "20260101-000000"
    sweep.mkdir()
    synth.write_old_csv(sweep / "results-5rps-50ms.csv")
    res = run_tool(tmp_path)
    assert res.returncode == 2
    assert "20260101-000000" in res.stderr


def test_not_a_driver_csv_is_rejected(tmp_path):
    (tmp_path / "results-5rps-50ms.csv").write_text("a,b\n1,2\n")
    res = run_tool(tmp_path)
    assert res.returncode == 2
    assert "missing column(s) timestamp_ms, status" in res.stderr


def test_help():
    res = run_cli("--help")
    assert res.returncode == 0
    for flag in ("--warmup-seconds", "--kpa-model", "--kpa-args", "--out-dir", "--latency-basis"):
        assert flag in res.stdout


def test_out_dir_and_bad_flag(sweep, tmp_path):
    out = tmp_path / "out"
    res = run_tool(sweep, "--out-dir", out, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    assert (out / "report.html").is_file() and (out / "summary.csv").is_file()
    assert not list(out.glob("timeline_*.png"))
    res = run_tool(sweep, "--warmup-seconds", "-1")
    assert res.returncode == 2 and "--warmup-seconds" in res.stderr


def test_report_says_what_ran_and_fits_a_laptop(tmp_path):
    """Header from sweep.conf; a compact results table; every column still in summary.csv."""
    d = make_sweep(tmp_path / "sweep")
    synth.write_sweep_conf(d / "sweep.conf")
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    page = (d / "report.html").read_text()
    head = page[:page.index("<h2>Results")]
    for want in ("Mode", "local", "Autoscaling", "no autoscaler in the loop",
                 "(from local mode (fixed workers))", "rps 10 &times; spin 100 ms = 2 runs",
                 "constant rate for 26 s per run", "first 5 s of each run", "warmup column",
                 "--spin-clock=cpu", "abc123def456", "kit 0.1.0", "2026-01-01T12:00:00Z",
                 "testhost: 2 cores, Test CPU", "from the intended send", "2 of 2 runs"):
        assert want in head, want
    # The results table is narrow (12 columns at most, laptop width); summary.csv has all 20.
    results = page[page.index("<h2>Results"):page.index("<h2>Across runs")]
    first_row = re.search(r"<tr>(.*?)</tr>", results).group(1)
    assert 8 <= first_row.count("<th>") <= 12
    assert len(pd.read_csv(d / "summary.csv").columns) == 24
    assert "max-width:1380px" in page and "img{max-width:660px" in page
    # Links to the docs that exist in the repository.
    for page_name in ("analysis.md", "experiments.md"):
        href = re.search(rf"href='([^']*{page_name})'", page).group(1)
        assert os.path.isfile(os.path.normpath(os.path.join(d, href))), href


def test_interrupted_incomplete_and_failed_runs_are_flagged(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv")
    synth.write_old_csv(d / "results-5rps-50ms.csv", garbage=False)
    synth.write_new_csv(d / "results-20rps-100ms.csv", rps=20)
    # 10 rps: the driver's summary says it scheduled 265 of 300 (stopped by a signal).
    (d / "summary-10rps-100ms.json").write_text(json.dumps({
        "scheduled": 265, "sent": 260, "success": 250, "failure": 10, "dropped": 5,
        "phases": [{"expected": 300}], "write_error": None}))
    # 20 rps: complete but 40 % failed.
    (d / "summary-20rps-100ms.json").write_text(json.dumps({
        "scheduled": 100, "sent": 100, "success": 60, "failure": 40, "dropped": 0,
        "phases": [{"expected": 100}], "write_error": None}))
    synth.write_sweep_conf(d / "sweep.conf", runs="4", finished_utc=None)
    (d / "runs.csv").write_text(
        "index,repeat,rps,spin_ms,name,idle,launch,status,start,end,collect\n"
        "1,1,20,100,20rps-100ms,yes,1,over_fail_threshold,1,2,ok\n"
        "2,1,10,100,10rps-100ms,no,3,interrupted,,,\n")
    res = run_tool(d, "--no-run-plots", "--warmup-seconds", "0")
    assert res.returncode == 0, res.stderr
    page = (d / "report.html").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r"<tr><td><a href='#run-([^']+)'>.*?</tr>", page)}
    assert "interrupted" in rows["10rps-100ms"]
    assert "started without the idle state confirmed" in rows["10rps-100ms"]
    assert "incomplete: 265 of 300 requests scheduled" in rows["10rps-100ms"]
    assert "failed: 40.0 % of requests failed or were dropped (threshold 10 %)" in rows[
        "20rps-100ms"]
    assert "no driver summary" in rows["5rps-50ms"]
    assert "3 of 4 runs" in page and "the sweep did not finish" in page
    assert "3 run(s) flagged below" in page


def test_staircase_gets_a_per_step_table(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_staircase_csv(d / "results-10rps-5ms.csv")
    synth.write_new_csv(d / "results-20rps-5ms.csv", rps=20, spin=5)  # constant: no steps
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    steps = pd.read_csv(d / "steps-10rps-5ms.csv")
    assert not os.path.exists(d / "steps-20rps-5ms.csv")
    assert list(steps["target_rps"]) == [10, 20, 30]
    assert list(steps["scheduled"]) == [20, 40, 60]
    np.testing.assert_allclose(steps["start_s"], [0, 2, 4], atol=1e-6)
    np.testing.assert_allclose(steps["duration_s"], [2, 2, 2], atol=1e-6)
    # successes per second: 20/2, 40/2, (60 - 3 failures)/2
    np.testing.assert_allclose(steps["achieved_rps"], [10, 20, 28.5])
    assert list(steps["failed"]) == [0, 0, 3]
    np.testing.assert_allclose(steps["p50_ms"], [10, 20, 30])
    np.testing.assert_allclose(steps["p99_ms"], [10, 20, 30])
    assert list(steps["warmup"]) == [1, 0, 0]
    page = (d / "report.html").read_text()
    assert "steps-10rps-5ms.csv" in page and "Per step" in page
    # The summary of the run still covers the measured (non-warm-up) levels only.
    row = read_summary(d)[(10, 5)]
    assert row.count == 100 and row.failures == 3


def test_ramp_is_cut_into_ten_segments(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    # A ramp: the target changes with every request (1..100 rps over ~10 s).
    levels = [(r, 5.0) for r in range(1, 101)]
    t = float(synth.T0_MS)
    with open(d / "results-50rps-5ms.csv", "w") as f:
        f.write(",".join(synth.NEW_HEADER) + "\n")
        for seq, (rps, lat) in enumerate(levels, 1):
            f.write(f"{int(t)},{rps},5,{seq},5,success,5000,5000,0,OK,w,5000,,,0,0\n")
            t += 100.0
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    steps = pd.read_csv(d / "steps-50rps-5ms.csv")
    assert len(steps) == 10
    assert steps["scheduled"].sum() == 100
    assert steps["target_rps"].is_monotonic_increasing


def test_prometheus_quantiles_are_shown_next_to_the_csv_with_the_bucket_error(tmp_path):
    """run_* series (one point at END) against the CSV's nearest-rank quantiles."""
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv")
    # Completed rows (warm-up included): 50 x 5000 ms, 200 x 100.5+k ms, 10 x 30000 ms.
    # Nearest rank from the intended send: p50 = row 130 of 260 -> 100.5 + 130 = 230.5 ms.
    t_end = synth.T0_MS // 1000 + 30
    q = ("1000 * histogram_quantile(0.5, (sum by (le) (load_driver_intended_latency_"
         "seconds_bucket) - sum by (le) (x offset 30000ms)) or sum by (le) (x))")
    synth.write_prom_json(d / "prometheus-10rps-100ms.json", extra={
        "run_driver_intended_p50_ms": [({}, [(t_end, 240.0)])]})   # +4.1 %: within 9.05 %
    # Record the queries the way collect_prometheus.sh does.
    doc = json.loads((d / "prometheus-10rps-100ms.json").read_text())
    for e in doc:
        if e["name"] == "run_driver_intended_p50_ms":
            e["query"] = q
    doc.append({"name": "run_driver_p50_ms", "query": q.replace("intended_latency_seconds",
                                                                "request_latency_ms"),
                "result": synth.prom_response([({}, [(t_end, 260.0)])])})
    (d / "prometheus-10rps-100ms.json").write_text(json.dumps(doc))
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    checks = pd.read_csv(d / "quantile_checks.csv")
    intended = checks[checks["what"].str.contains("intended")].iloc[0]
    assert intended["csv_ms"] == pytest.approx(230.5)
    assert intended["rel_diff"] == pytest.approx(240 / 230.5 - 1)
    assert intended["bound"] == pytest.approx(2 ** (1 / 8) - 1) and intended["agrees"] == 1
    coarse = checks[checks["what"].str.contains("actual")].iloc[0]
    # Actual send = intended - 2 ms: p50 228.5; a *_ms histogram query is coarse: not judged.
    assert coarse["csv_ms"] == pytest.approx(228.5) and coarse["bound"] == 1
    assert np.isnan(coarse["agrees"])
    page = (d / "report.html").read_text()
    assert "Prometheus next to the CSV" in page and "±9.1 %" in page
    assert "±100 % (coarse ms buckets)" in page and ">within<" in page


def test_windowed_quantile_matches_a_rate_window():
    done = np.array([0.5, 1.5, 2.5, 3.5, 4.5])
    vals = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    got = plots.windowed_quantile(done, vals, np.array([1.0, 3.0, 5.0, 10.0]), 2.0, 0.5)
    # (−1, 1] -> [1]; (1, 3] -> [2, 3]; (3, 5] -> [4, 5]; (8, 10] -> nothing
    np.testing.assert_allclose(got[:3], [1.0, 2.5, 4.5])
    assert np.isnan(got[3])


def slower_copy(src, dst, factor):
    """A sweep like src whose latencies are all `factor` times longer."""
    dst.mkdir()
    for f in os.listdir(src):
        if f.startswith("results-"):
            df = pd.read_csv(src / f, dtype=str, keep_default_na=False, on_bad_lines="skip")
            for col in ("latency_ms", "latency_us", "intended_latency_us"):
                if col in df.columns:
                    df[col] = [str(int(float(v) * factor)) if v else "" for v in df[col]]
            df.to_csv(dst / f, index=False)
        elif f.startswith(("prometheus-", "summary-")):
            (dst / f).write_bytes((src / f).read_bytes())


def test_compare_puts_sweeps_side_by_side(tmp_path):
    a = make_sweep(tmp_path / "local")
    synth.write_sweep_conf(a / "sweep.conf")
    b = tmp_path / "cluster"
    slower_copy(a, b, 2)
    synth.write_sweep_conf(b / "sweep.conf", mode="cluster",
                           autoscaling="class=hpa.autoscaling.knative.dev metric=cpu",
                           autoscaling_source="live Knative Service default/worker")
    res = run_tool("--compare", a, b)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "compare-local-vs-cluster"
    assert res.stdout.strip() == str(out / "compare.html")
    table = pd.read_csv(out / "compare.csv")
    row = table[(table.rps == 10) & (table.spin_ms == 100)].iloc[0]
    assert row["local_p50_ms"] == pytest.approx(201.0)
    assert row["cluster_p50_ms"] == pytest.approx(402.0, rel=0.01)
    assert row["cluster_vs_local_p50_pct"] == pytest.approx(100.0, abs=1.0)
    assert row["local_mean_pods"] == pytest.approx(56 / 22)
    page = (out / "compare.html").read_text()
    # What differs is listed first and highlighted; what is equal is still shown.
    differing = re.findall(r"<tr class='differs'><th>([^<]+)</th>", page)
    assert differing[:3] == ["mode", "autoscaling", "autoscaling_source"]
    assert "host_cores" not in differing and ">host_cores<" in page
    assert "class=hpa.autoscaling.knative.dev metric=cpu" in page
    assert "+100 %" in page
    for f in ("compare_latency_100ms.png", "compare_latency_50ms.png",
              "compare_pods_10rps-100ms.png"):
        png_ok(out / f)
    assert not (out / "compare_pods_5rps-50ms.png").exists()  # no pods data in either


def test_compare_two_kpa_targets_of_one_sweep(tmp_path, monkeypatch):
    """'What if target were 20': two analyses of the same sweep, compared."""
    sweep = make_sweep(tmp_path / "sweep")
    model = tmp_path / "fake_model"
    synth.write_fake_model(model)
    monkeypatch.setenv("FAKE_MODEL_LOG", str(tmp_path / "model.log"))
    for target in ("10", "20"):
        res = run_tool(sweep, "--out-dir", tmp_path / f"t{target}", "--kpa-model", model,
                       "--kpa-args", f"--target {target}", "--no-run-plots")
        assert res.returncode == 0, res.stderr
    res = run_tool("--compare", tmp_path / "t10", tmp_path / "t20", "--labels", "target10,target20",
                   "--out-dir", tmp_path / "cmp")
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert re.search(r"<tr class='differs'><th>KPA model \(analysis\)</th><td>kpa_model --target 10"
                     r"</td><td>kpa_model --target 20</td>", page)
    assert re.search(r"<tr class='differs'><th>KPA model what-if \(analysis\)</th><td>--target 10"
                     r"</td><td>--target 20</td>", page)
    assert str(sweep) in page  # both read the same sweep's CSVs
    png_ok(tmp_path / "cmp" / "compare_pods_10rps-100ms.png")
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert (table["target20_vs_target10_p50_pct"].dropna() == 0).all()
    # The fake model's desired pods (2, then 4 from 10 s) averaged over the measured window.
    row = table[(table.rps == 10) & (table.spin_ms == 100)].iloc[0]
    assert row["target10_model_pods"] == pytest.approx(40 / 11)


def test_compare_needs_two_existing_directories(tmp_path, sweep):
    res = run_tool("--compare", sweep)
    assert res.returncode == 2 and "at least two" in res.stderr
    res = run_tool("--compare", sweep, tmp_path / "nope")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"analyze_plot.py: error: {tmp_path / 'nope'} is not a directory")
    res = run_tool("--compare", sweep, sweep, "--labels", "a")
    assert res.returncode == 2 and "--labels needs one distinct name" in res.stderr


def test_compare_of_sweeps_with_the_same_name_labels_them_by_their_parents(tmp_path):
    """Issue 21 item 15: two sweeps called S (a/S, b/S) compare without --labels."""
    for parent in ("a", "b"):
        (tmp_path / parent).mkdir()
        make_sweep(tmp_path / parent / "S")
    res = run_tool("--compare", tmp_path / "a" / "S", tmp_path / "b" / "S", "--no-run-plots")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "a" / "compare-a_S-vs-b_S"  # one directory, beside the first
    page = (out / "compare.html").read_text()
    assert "a/S" in page and "b/S" in page
    assert "b/S_vs_a/S_p50_pct" in pd.read_csv(out / "compare.csv").columns
    from knbench_analysis.compare import default_labels
    assert default_labels(["/x/run", "/y/other"]) == ["run", "other"]
    assert default_labels(["/x/a/S", "/y/a/S", "/z/T"]) == ["x/a/S", "y/a/S", "T"]
    assert default_labels(["/x/a/S/", "/x/b/S", "/x/b/T"]) == ["a/S", "b/S", "T"]
    res = run_tool("--compare", tmp_path / "a" / "S", str(tmp_path / "a" / "S") + "/")
    assert res.returncode == 2
    assert "--compare names one directory twice" in res.stderr


def test_bootstrap_quantile_matches_brute_force_resampling():
    """The order-statistic shortcut has the distribution of resample-and-np.quantile."""
    rng = np.random.default_rng(5)
    x = np.sort(rng.exponential(10.0, 400))
    for q in (0.5, 0.95, 0.99):
        fast = repeats.bootstrap_quantile(x, q, 20000, rng)
        brute = np.array([np.quantile(rng.choice(x, len(x)), q) for _ in range(3000)])
        np.testing.assert_allclose(np.percentile(fast, [5, 50, 95]),
                                   np.percentile(brute, [5, 50, 95]), rtol=0.03)


def test_hierarchical_ci_covers_the_true_quantile():
    """Simulated grid points of 3 repeats x 300 requests (exponential, mean 10 ms), with 15 %
    run-to-run variation of the scale: the 95 % interval holds the true quantile in at least
    90 % of 150 trials. (A bootstrap of the requests alone covers about 80 % here.)"""
    rng = np.random.default_rng(11)
    for q, true in ((0.5, 10 * np.log(2)), (0.95, 10 * np.log(20))):
        hits = 0
        for _ in range(150):
            samples = [rng.exponential(10 * np.exp(rng.normal(0, 0.15)), 300) for _ in range(3)]
            lo, hi = repeats.hierarchical_ci(samples, q, 1000, rng)
            hits += lo <= true <= hi
        assert hits / 150 >= 0.90, (q, hits)


def test_repeats_give_medians_and_confidence_intervals(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    # Three repeats of one grid point whose latencies differ by a factor: the median repeat
    # is the 1.1x one.
    base = tmp_path / "base"
    base.mkdir()
    synth.write_new_csv(base / "results-10rps-100ms.csv")
    for k, factor in ((1, 1.0), (2, 1.1), (3, 1.3)):
        tmp = tmp_path / f"r{k}"
        slower_copy(base, tmp, factor)
        os.replace(tmp / "results-10rps-100ms.csv", d / f"results-10rps-100ms-r{k}.csv")
    synth.write_new_csv(d / "results-20rps-100ms-r1.csv", rps=20)  # a point with one repeat
    synth.write_sweep_conf(d / "sweep.conf", repeat="3", order="shuffled", seed="7", runs="6")
    res = run_tool(d, "--no-run-plots")
    assert res.returncode == 0, res.stderr
    grid = pd.read_csv(d / "grid.csv").set_index("rps")
    g = grid.loc[10]
    assert g["repeats"] == 3 and g["runs"] == "10rps-100ms-r1 10rps-100ms-r2 10rps-100ms-r3"
    s = read_summary(d)
    assert g["p50_ms"] == pytest.approx(pd.read_csv(d / "summary.csv").query(
        "rps == 10 and repeat == 2")["p50_ms"].iloc[0])
    for q in ("p50", "p95", "p99"):
        assert g[f"{q}_ci_low_ms"] <= g[f"{q}_ms"] <= g[f"{q}_ci_high_ms"], q
    # The interval spans the repeats' spread (1.0x .. 1.3x of p50 201 ms), not just one run.
    assert g["p50_ci_low_ms"] < 201.0 * 1.05 and g["p50_ci_high_ms"] > 201.0 * 1.25
    assert grid.loc[20]["repeats"] == 1
    assert len(s) == 2  # read_summary keys (rps, spin) collapse the repeats; summary.csv has 4
    assert len(pd.read_csv(d / "summary.csv")) == 4
    page = (d / "report.html").read_text()
    assert "p95 ms [95 % CI]" in page and "grid.csv" in page
    assert "= 2 points, each run 3 times: 6 runs, shuffled order (seed 7)" in page
    assert re.search(r"<td>3 \(<a href='#run-10rps-100ms-r1'>r1</a>", page)
