"""The comparison of autoscaler classes (knbench_analysis.scaling, .comparison,
.comparison_format): each measure worked out by hand on a synthetic KPA run and a
synthetic HPA run, the median over repeats, the words, text and HTML against expected
output, and --compare writing comparison.json, .html, .txt and a plot per grid point."""
import html
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import synth  # noqa: E402
from knbench_analysis import comparison, comparison_format, scaling  # noqa: E402
from knbench_analysis.comparison import Comparison, Point, Side  # noqa: E402
from knbench_analysis.loading import PromSeries, Run  # noqa: E402
from knbench_analysis.scaling import Measures  # noqa: E402
from knbench_analysis.stats import RunStats  # noqa: E402

T0 = 1_700_000_000.0  # the load's start (first intended send), epoch s


def steps(times, spec):
    """Values at `times` (s since T0) from [(from_s, value), ...] in order."""
    return [[v for f, v in spec if t >= f][-1] for t in times]


def make_run(series, load_s, first_latency_ms, spin=100.0, rps=10):
    """A run whose load lasts load_s seconds (a send every 100 ms), whose first request
    took first_latency_ms (server spin = spin) and whose Prometheus series are `series`
    (name -> (times s since T0, values))."""
    n = int(load_s * 10)
    t_ms = T0 * 1000 + 100.0 * np.arange(n)
    lat = np.full(n, spin + 5.0)
    lat[0] = first_latency_ms
    run = Run(rps=rps, spin=spin, csv_path="results-x.csv", tag=f"{rps}rps-{int(spin)}ms",
              stem=f"{rps}rps-{int(spin)}ms")
    run.df = pd.DataFrame({"t_ms": t_ms, "lat_ms": lat, "status": "success",
                           "server_spin_ms": spin})
    run.start_ms = T0 * 1000
    run.prom = {name: [PromSeries({}, T0 + np.asarray(t, float), np.asarray(v, float))]
                for name, (t, v) in series.items()}
    run.stats = RunStats(rps=rps, spin_ms=spin, count=n - 10, failures=2, dropped=1,
                         p50_ms=105.0, p95_ms=2100.0, p99_ms=2400.0)
    return run


def kpa_run():
    """A scale from zero under 20 s of load (last send 19.9 s), one sample a second:
    ready 0 at 1-2 s, 1 at 3 s, 2 at 4-21 s, 1 at 22-25 s, 0 from 26 s to 30 s;
    requested 1 at 1-2 s (the poke), 2 at 3-20 s, 1 at 21-24 s, 0 from 25 s.
    By hand: pod-seconds 1 + 18 x 2 + 4 x 1 = 41 over 30 s; peak 2; first scale-up at
    1 s (the first requested sample above 0); last change under the load at 3 s, to 2;
    back at 0 from 26 s: 6.1 s after the last send; the first request 2500 ms - its
    100 ms spin = 2.4 s of cold start; throttled (0.5 + 0.1 + 0.3) / 3 = 0.3 (the NaN
    sample, 0/0, is skipped)."""
    t = list(range(1, 31))
    return make_run({
        "actual_pods": (t, steps(t, [(0, 0), (3, 1), (4, 2), (22, 1), (26, 0)])),
        "requested_pods": (t, steps(t, [(0, 1), (3, 2), (21, 1), (25, 0)])),
        "pod_cpu_throttled_ratio": ([3, 4, 5, 6], [0.5, float("nan"), 0.1, 0.3])},
        load_s=20, first_latency_ms=2500.0)


def hpa_run():
    """The HPA class on a cluster (kube-state-metrics' series only), a sample every 5 s
    (5-120 s), under 70 s of load (last send 69.9 s): current replicas 1 at 5-35 s, 3 at
    40-80 s, 2 at 85-95 s, 1 from 100 s; desired 1 at 5-30 s, 3 at 35-60 s, 4 at 65 s,
    3 at 70-75 s, 2 at 80-90 s, 1 from 95 s.
    By hand: pod-seconds 5 x (7 x 1 + 9 x 3 + 3 x 2 + 5 x 1) = 225 over 24 x 5 = 120 s;
    peak 3; first scale-up (desired above the minimum 1) at 35 s; last change under the
    load at 65 s, to 4 (the change at 70 s comes after the last send); back at 1 from
    100 s: 30.1 s after the last send; 1 pod ready at the start: no cold start; no
    throttling series."""
    t = list(range(5, 121, 5))
    return make_run({
        "hpa_current_replicas": (t, steps(t, [(0, 1), (40, 3), (85, 2), (100, 1)])),
        "hpa_desired_replicas": (t, steps(t, [(0, 1), (35, 3), (65, 4), (70, 3), (80, 2),
                                             (95, 1)]))},
        load_s=70, first_latency_ms=104.0)


KPA = Measures(requests=190, failed=3, p50_ms=105.0, p95_ms=2100.0, p99_ms=2400.0,
               start_pods=0.0, cold_start_s=2.4, pod_seconds=41.0, window_s=30.0,
               peak_pods=2.0, first_scale_up_s=1.0, final_scale_s=3.0, final_scale_pods=2.0,
               min_pods=0.0, back_to_min_s=6.1, throttled_share=0.3)
HPA = Measures(requests=690, failed=3, p50_ms=105.0, p95_ms=2100.0, p99_ms=2400.0,
               start_pods=1.0, cold_start_s=None, pod_seconds=225.0, window_s=120.0,
               peak_pods=3.0, first_scale_up_s=35.0, final_scale_s=65.0, final_scale_pods=4.0,
               min_pods=1.0, back_to_min_s=30.1, throttled_share=None)


def approx(m):
    return {k: (pytest.approx(v) if isinstance(v, float) else v) for k, v in vars(m).items()}


def test_each_measure_of_a_kpa_run_by_hand():
    assert vars(scaling.measure(kpa_run(), 0.0)) == approx(KPA)


def test_each_measure_of_an_hpa_run_by_hand():
    assert vars(scaling.measure(hpa_run(), 1.0)) == approx(HPA)


def test_without_the_sweeps_idle_count_the_minimum_is_the_start():
    m = scaling.measure(hpa_run())
    assert (m.min_pods, m.first_scale_up_s, m.back_to_min_s) == (1.0, 35.0, pytest.approx(30.1))


def test_series_helpers():
    s = pd.Series([1.0, 1.0, 1.0, 3.0], index=[1.0, 2.0, 3.0, 5.0])
    # One-second steps (the median spacing); the 5 s sample stands for (3, 5].
    assert scaling.integral(s) == (1 + 1 + 1 + 2 * 3, 5.0)
    assert scaling.last_change(s, 10, before=1.0) == (5.0, 3.0)
    assert scaling.last_change(s, 4, before=1.0) is None  # no change up to 4 s
    assert scaling.last_change(s, 4, before=0.0) == (1.0, 1.0)  # from the idle 0
    assert scaling.first_above(s, 3.0) is None
    assert scaling.number(float("nan")) is None and scaling.number("2") == 2.0


def test_a_first_request_that_waited_for_no_pod_or_unknown_pods():
    run = kpa_run()
    assert scaling.cold_start_s(run, None) == pytest.approx(2.4)
    assert scaling.cold_start_s(run, 1.0) is None
    run.df.loc[0, "server_spin_ms"] = float("nan")  # the run's spin stands in
    assert scaling.cold_start_s(run, 0.0) == pytest.approx(2.4)


def test_repeats_give_each_measures_median():
    a = Measures(requests=10, p95_ms=100.0, first_scale_up_s=None, peak_pods=2.0)
    b = Measures(requests=20, p95_ms=300.0, first_scale_up_s=4.0, peak_pods=3.0)
    c = Measures(requests=30, p95_ms=200.0, first_scale_up_s=8.0, peak_pods=3.0)
    m = comparison.median_measures([a, b, c])
    assert (m.requests, m.p95_ms, m.first_scale_up_s, m.peak_pods, m.cold_start_s) == \
        (20, 200.0, 6.0, 3.0, None)


def hand_comparison():
    return Comparison("kpa", [
        Side("kpa", "/r/s/kpa", "kpa", 1, "kpa/report.html", {"window": "6s"}),
        Side("hpa", "/r/s/hpa", "hpa", 1, None,
             {"horizontal_pod_autoscaler_downscale_stabilization": "30s"})],
        [Point(10.0, 100.0, "10rps-100ms", {"kpa": KPA, "hpa": HPA})])


WORDS = (
    "At 10 rps x 100 ms, kpa reacted first: its scale rose 1.0 s after the load's start, "
    "hpa's 34.0 s later, at 35.0 s; the last change of the scale: kpa's to 2 pods at 3.0 s, "
    "hpa's to 4 pods at 65.0 s; kpa's first request waited 2.40 s beyond its spin (a cold "
    "start from 0 pods); hpa had 1 pod ready (no cold start); p50 / p95 / p99 from the "
    "intended send: kpa 105 / 2100 / 2400 ms, hpa 105 / 2100 / 2400 ms (hpa's p95 +0 % "
    "against kpa's); cost: kpa 41 pod-seconds over its 30 s window, hpa 225 over 120 s "
    "(+449 %); peak 2 vs 3 pods; after the load: kpa back at 0 pods 6.1 s after it, hpa "
    "back at 1 pod 30.1 s after it; CPU throttled in 30 % (kpa), no data (hpa) of the CFS "
    "periods; failed: kpa 3 of 190, hpa 3 of 690.")


def test_the_words_come_from_the_numbers():
    assert comparison_format.words(hand_comparison()) == WORDS


def test_words_when_one_never_scaled_and_across_points():
    c = hand_comparison()
    flat = Measures(requests=10, start_pods=1.0, min_pods=1.0, pod_seconds=60.0, window_s=60.0,
                    peak_pods=1.0, back_to_min_s=0.6)
    c.points.append(Point(20.0, 100.0, "20rps-100ms", {"kpa": KPA, "hpa": flat}))
    text = comparison_format.words(c)
    assert text.startswith("Across 2 grid points, kpa reacted first at 2 and hpa at 0; hpa "
                           "cost more pod-seconds at 2 and had the lower p95 at 0. At 10 rps")
    assert ("At 20 rps x 100 ms, kpa scaled up 1.0 s after the load's start; hpa never rose "
            "above its minimum; the last change of the scale: kpa's to 2 pods at 3.0 s, hpa's "
            "did not change under the load;") in text
    assert "hpa back at 1 pod 0.6 s after it" in text
    assert "failed: kpa 3 of 190, hpa 0 of 10." in text


TEXT = """\
Comparison: kpa vs hpa (baseline kpa)

At 10 rps x 100 ms, kpa reacted first: its scale rose 1.0 s after the load's
start, hpa's 34.0 s later, at 35.0 s; the last change of the scale: kpa's to 2
pods at 3.0 s, hpa's to 4 pods at 65.0 s; kpa's first request waited 2.40 s
beyond its spin (a cold start from 0 pods); hpa had 1 pod ready (no cold
start); p50 / p95 / p99 from the intended send: kpa 105 / 2100 / 2400 ms, hpa
105 / 2100 / 2400 ms (hpa's p95 +0 % against kpa's); cost: kpa 41 pod-seconds
over its 30 s window, hpa 225 over 120 s (+449 %); peak 2 vs 3 pods; after the
load: kpa back at 0 pods 6.1 s after it, hpa back at 1 pod 30.1 s after it; CPU
throttled in 30 % (kpa), no data (hpa) of the CFS periods; failed: kpa 3 of
190, hpa 3 of 690.

Set by serving arguments (not the manifest or the defaults):
  kpa: window=6s
  hpa: horizontal_pod_autoscaler_downscale_stabilization=30s

10 rps x 100 ms
  measure                                      kpa                hpa
  p50 / p95 / p99 ms (from the intended send)  105 / 2100 / 2400  105 / 2100 / 2400
  failed                                       3 of 190           3 of 690
  cold-start wait                              2.40 s             none (1 pod ready)
  pod-seconds                                  41 over 30 s       225 over 120 s
  peak pods                                    2                  3
  first scale-up                               1.0 s              35.0 s
  final scale                                  3.0 s (2 pods)     65.0 s (4 pods)
  back to the minimum                          6.1 s (0 pods)     30.1 s (1 pod)
  throttled                                    30 %               no data

Times in seconds since the load's start (the first intended send), to the first
sample of the scale's series that shows it (1 s steps locally, 15 s on a
cluster); final scale = the last change of the scale while the load lasts; back
to the minimum = from the load's end until the ready pods stay at the sweep's
idle count; pod-seconds = ready pods integrated over the run's window;
throttled = mean share of CFS periods the CPU limit throttled. Latencies:
successes after the warm-up; with repeats, each value is the median over them.
"""


def test_the_text_report():
    assert comparison_format.text(hand_comparison()) == TEXT


def test_the_html_table_and_page():
    c = hand_comparison()
    table = comparison_format.point_table(c.points[0], c.labels, "intended")
    assert table == (
        "<table class='kv'><tr><th>measure</th><th>kpa</th><th>hpa</th></tr>"
        "<tr><th>p50 / p95 / p99 ms (from the intended send)</th><td>105 / 2100 / 2400</td>"
        "<td>105 / 2100 / 2400</td></tr>"
        "<tr><th>failed</th><td>3 of 190</td><td>3 of 690</td></tr>"
        "<tr><th>cold-start wait</th><td>2.40 s</td><td>none (1 pod ready)</td></tr>"
        "<tr><th>pod-seconds</th><td>41 over 30 s</td><td>225 over 120 s</td></tr>"
        "<tr><th>peak pods</th><td>2</td><td>3</td></tr>"
        "<tr><th>first scale-up</th><td>1.0 s</td><td>35.0 s</td></tr>"
        "<tr><th>final scale</th><td>3.0 s (2 pods)</td><td>65.0 s (4 pods)</td></tr>"
        "<tr><th>back to the minimum</th><td>6.1 s (0 pods)</td><td>30.1 s (1 pod)</td></tr>"
        "<tr><th>throttled</th><td>30 %</td><td>no data</td></tr></table>")
    page = comparison_format.html(c, {"10rps-100ms": "comparison_10rps-100ms.png"})
    assert page.index("<p class='words'>At 10 rps x 100 ms, kpa reacted first") < \
        page.index(table) < page.index('<img src="comparison_10rps-100ms.png"')
    assert ("Set by serving arguments (not the manifest or the defaults): kpa: window=6s; "
            "hpa: horizontal_pod_autoscaler_downscale_stabilization=30s") in page
    assert "<li><b>kpa</b>: kpa, 1 runs, /r/s/kpa (<a href='kpa/report.html'>its report</a>)" \
        in page and "<li><b>hpa</b>: hpa, 1 runs, /r/s/hpa</li>" in page


def test_a_point_only_one_sweep_has_shows_dashes():
    rows = comparison_format.rows(Point(5.0, 10.0, "5rps-10ms", {"kpa": KPA}), ["kpa", "hpa"],
                                  "send")
    assert rows[0] == ("p50 / p95 / p99 ms (from the actual send)", ["105 / 2100 / 2400", "–"])
    assert all(cells[1] == "–" for _, cells in rows)


def write_autoscaled_sweep(d, cls, series, idle):
    """A one-run sweep directory of `cls` whose run has `series` (synth's CSV: the load
    lasts until 26.4 s); the HPA's without Knative's pods series, as on a cluster."""
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-100ms.csv")
    synth.write_prom_json(d / "prometheus-10rps-100ms.json", extra=series, pods=cls != "hpa")
    synth.write_sweep_conf(d / "sweep.conf", runs="1", idle_pods=str(idle),
                           autoscaling=f"{cls.upper()} metric=x")
    doc = {"runs": [{"index": 1, "rps": 10, "spin_ms": 100, "repeat": 1, "name": "10rps-100ms",
                     "files": {"csv": "results-10rps-100ms.csv"}, "status": "ok"}],
           "system": {"kind": "local serving", "class": cls, "serving_config": {
               "class": cls, "settings": {"window": "6s"}, "sources": {"window": "flag"}}}}
    (d / "runs.json").write_text(json.dumps(doc))


def test_compare_writes_the_comparison(tmp_path):
    write_autoscaled_sweep(tmp_path / "kpa", "kpa", synth.autoscaler_series(), 0)
    t0 = synth.T0_MS // 1000
    hpa = {"hpa_current_replicas": [({}, [(t0 + s, 1 if s < 10 else 2) for s in range(1, 41)])],
           "hpa_desired_replicas": [({}, [(t0 + s, 1 if s < 8 else 2) for s in range(1, 41)])]}
    write_autoscaled_sweep(tmp_path / "hpa", "hpa", hpa, 1)
    res = subprocess.run([sys.executable, os.path.join(os.path.dirname(HERE), "analyze_plot.py"),
                          "--compare", tmp_path / "kpa", tmp_path / "hpa", "--out-dir",
                          tmp_path / "out"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert doc["baseline"] == "kpa" and [s["autoscaler_class"] for s in doc["sweeps"]] == \
        ["kpa", "hpa"]
    assert doc["sweeps"][0]["flag_settings"] == {"window": "6s"}
    (point,) = doc["points"]
    k, h = point["measures"]["kpa"], point["measures"]["hpa"]
    # synth.autoscaler_series: ready 0 x2, 1 x2, 3 x15, 1 x8, 0 x3 over 1..30 s; requested
    # 1 from the first sample, 3 from 3 s, 1 from 20 s (the last change before the last
    # send at 26.4 s); back at 0 from 28 s, 1.6 s after the last send.
    assert (k["pod_seconds"], k["window_s"], k["peak_pods"], k["first_scale_up_s"]) == \
        (2 + 15 * 3 + 8, 30, 3, 1)
    assert (k["final_scale_s"], k["final_scale_pods"]) == (20, 1)
    assert k["back_to_min_s"] == pytest.approx(1.6) and k["min_pods"] == 0
    # The HPA: 9 x 1 + 31 x 2 over 40 s; desired above 1 from 8 s, the last change then.
    assert (h["pod_seconds"], h["peak_pods"], h["first_scale_up_s"], h["final_scale_s"]) == \
        (9 + 31 * 2, 2, 8, 8)
    assert h["back_to_min_s"] is None and h["cold_start_s"] is None  # 1 pod ready at start
    assert k["cold_start_s"] == pytest.approx(4.9)  # the first (warm-up) request: 5 s - 0.1
    assert math.isclose(k["p50_ms"], 201.0)
    page = html.unescape((tmp_path / "out" / "comparison.html").read_text())
    assert "kpa reacted first: its scale rose 1.0 s after the load's start, hpa's 7.0 s " \
           "later, at 8.0 s" in page
    assert (tmp_path / "out" / "comparison.txt").read_text().startswith(
        "Comparison: kpa vs hpa (baseline kpa)")
    png = tmp_path / "out" / "comparison_10rps-100ms.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_the_hpas_own_scale_wins_over_knatives_series():
    """local serving may export Knative's autoscaler_* names under the HPA class too: the
    HPA's desired replicas are its scale."""
    run = hpa_run()
    t = T0 + np.arange(5, 121, 5, dtype=float)
    run.prom["requested_pods"] = [PromSeries({}, t, np.ones(len(t)))]
    assert scaling.measure(run, 1.0).first_scale_up_s == 35.0
