"""The latency breakdown (issue 19): shares of the router's waits, the spin and the rest,
for all requests and the slowest 1 %, per second, and in the report."""

import contextlib
import io
import os
import re
import sys

import pytest

import synth

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
import analyze_plot  # noqa: E402  (the entry point)
from knbench_analysis import breakdown, loading  # noqa: E402


def routed(tmp_path):
    path = tmp_path / "results-10rps-8ms.csv"
    synth.write_routed_csv(path)
    df, _ = loading.load_csv(str(path), "intended")
    return breakdown.compute(df, float(df["t_ms"].min()))


def test_shares_for_all_and_the_slowest_one_percent(tmp_path):
    b = routed(tmp_path)
    assert b.all.requests == 100  # the failure and the dropped row carry no breakdown
    assert b.all.latency_mean_ms == pytest.approx(19.9)
    assert b.all.mean_ms == pytest.approx(
        {"activator_wait": 9.0, "queue_wait": 0.99, "server_spin": 8.42, "rest": 1.49})
    assert b.all.mean_share == pytest.approx(
        {"activator_wait": 900 / 1990, "queue_wait": 99 / 1990, "server_spin": 842 / 1990,
         "rest": 149 / 1990})
    assert b.all.p99_share == pytest.approx(
        {"activator_wait": 0.0, "queue_wait": 0.1, "server_spin": 0.8, "rest": 0.1})
    assert b.slowest.requests == 1
    assert b.slowest.latency_mean_ms == pytest.approx(1000.0)
    assert b.slowest.mean_share == pytest.approx(
        {"activator_wait": 0.9, "queue_wait": 0.0, "server_spin": 0.05, "rest": 0.05})
    assert breakdown.dominant(b.slowest) == ("activator_wait", "activator wait")
    assert breakdown.dominant(b.all) == ("activator_wait", "activator wait")


def test_per_second_means_show_the_cold_start(tmp_path):
    ps = routed(tmp_path).per_second
    assert list(ps.index) == list(range(10))
    assert ps.loc[0].to_dict() == pytest.approx(
        {"activator_wait": 90.0, "queue_wait": 0.9, "server_spin": 12.2, "rest": 5.9})
    for s in range(1, 10):
        assert ps.loc[s].to_dict() == pytest.approx(
            {"activator_wait": 0.0, "queue_wait": 1.0, "server_spin": 8.0, "rest": 1.0})


def test_rest_is_never_below_zero_and_slowest_rounds_up(tmp_path):
    path = tmp_path / "results-1rps-1ms.csv"
    with open(path, "w") as f:
        f.write(",".join(synth.NEW_HEADER) + "\n")
        for i in range(1, 202):  # waits past the latency: rest 0, not below
            f.write(f"{synth.T0_MS + i},1,1,{i},{i},success,{i * 1000},{i * 1000},0,OK,w,"
                    f"{i * 1000},{i * 1000},0,0,0\n")
    df, _ = loading.load_csv(str(path), "send")
    b = breakdown.compute(df, float(df["t_ms"].min()))
    assert b.all.requests == 201
    assert b.slowest.requests == 3  # 1 % of 201, rounded up
    assert b.slowest.latency_mean_ms == pytest.approx(200.0)
    assert b.all.mean_ms["rest"] == 0.0 and b.all.p99_share["rest"] == 0.0


def test_no_breakdown_without_the_columns_or_their_values(tmp_path):
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    synth.write_old_csv(old)  # the original's six columns
    synth.write_new_csv(new)  # the columns, empty: straight to a worker
    for path in (old, new):
        df, _ = loading.load_csv(str(path), "intended")
        assert breakdown.compute(df, float(df["t_ms"].min())) is None
    assert "no breakdown" in breakdown.html(None)


def test_the_sentence_names_the_queue_when_the_queue_dominated(tmp_path):
    b = routed(tmp_path)
    s = b.slowest
    s.mean_share.update(activator_wait=0.1, queue_wait=0.7)
    assert breakdown.words(b) == (
        "Its p99 was dominated by the queue wait: 70.0 % of the time of its slowest 1 % "
        "(1 request, mean 1000 ms; activator wait 10.0 %, server spin 5.0 %, rest 5.0 %).")


def test_report_has_the_table_plot_and_words_and_no_breakdown_for_old_runs(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_routed_csv(d / "results-10rps-8ms.csv")
    synth.write_old_csv(d / "results-5rps-50ms.csv")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert analyze_plot.main([str(d)]) == 0, err.getvalue()
    html = (d / "report.html").read_text()
    routed_part, old_part = (html.split("id='run-10rps-8ms'")[1].split("<h3")[0],
                             html.split("id='run-5rps-50ms'")[1].split("<h3")[0])
    assert ("Its p99 was dominated by the activator wait: 90.0 % of the time of its slowest "
            "1 % (1 request, mean 1000 ms; queue wait 0.0 %, server spin 5.0 %, rest 5.0 %)."
            in routed_part)
    assert "<th>slowest 1 %: mean share</th><td>1</td><td>1000</td><td>90.0 % (900 ms)</td>" \
        in routed_part
    assert "<th>all: p99 share</th><td></td><td></td><td>0.0 %</td><td>10.0 %</td>" \
        "<td>80.0 %</td><td>10.0 %</td>" in routed_part
    assert 'src="breakdown_10rps-8ms.png"' in routed_part
    assert "no breakdown" in old_part and "breakdown_" not in old_part
    assert os.path.isfile(d / "breakdown_10rps-8ms.png")
    assert not any(re.match(r"breakdown_5rps", f) for f in os.listdir(d))
