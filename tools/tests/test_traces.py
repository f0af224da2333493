"""Traces in the report (issue 19): OTLP/JSON lines read with the json module, spans
joined by trace id across files, the slowest traced requests as span trees with the time
no child span covers, and one line for runs without traces."""

import html
import json
import os
import re
import sys

import synth

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
from knbench_analysis import traces  # noqa: E402
from knbench_analysis.sweep import read_sweep_info  # noqa: E402
from test_analyze_plot import run_tool  # noqa: E402

T0 = 1_700_000_000_000_000_000  # ns


def span(trace, sid, parent, name, start_us, end_us, kind=2, attrs=()):
    out = {"traceId": f"{trace:032x}", "spanId": f"{sid:016x}", "name": name, "kind": kind,
           "startTimeUnixNano": str(T0 + start_us * 1000),
           "endTimeUnixNano": str(T0 + end_us * 1000), "status": {"code": 0},
           "attributes": [{"key": k, "value": v} for k, v in attrs]}
    if parent:
        out["parentSpanId"] = f"{parent:016x}"
    return out


def request(service, spans):
    """One ExportTraceServiceRequest line."""
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "knbench"}, "spans": spans}]}]})


def client(trace, start_us, end_us, seq):
    return span(trace, trace * 16 + 1, 0, "load_worker.LoadWorker/InvokeWorker", start_us,
                end_us, kind=3, attrs=[("knbench.seq", {"intValue": str(seq)})])


def write_run(d, stem="10rps-8ms"):
    """Trace 1: a 100 ms request, of which the worker's span covers 20..90 ms and its spin
    30..80; trace 2: 50 ms, worker 10..45; trace 3: 10 ms, untraced by the worker. The
    worker's spans come in two lines of another file, in another order."""
    driver = d / f"traces-{stem}.jsonl"
    driver.write_text(request("load_driver", [client(1, 0, 100_000, 7),
                                              client(3, 200_000, 210_000, 9)]) + "\n"
                      + request("load_driver", [client(2, 300_000, 350_000, 8)]) + "\n")
    pods = d / f"traces-{stem}-pods.jsonl"
    pods.write_text(
        request("worker", [span(1, 0xa2, 0xa1, "spin", 30_000, 80_000),
                           span(2, 0xb1, 2 * 16 + 1, "load_worker.LoadWorker/InvokeWorker",
                                310_000, 345_000)]) + "\n\n"
        + "not json\n"
        + request("worker", [span(1, 0xa1, 1 * 16 + 1, "load_worker.LoadWorker/InvokeWorker",
                                  20_000, 90_000)]) + "\n")
    return [str(driver), str(pods)]


def test_spans_are_read_and_joined_by_trace_id_across_files(tmp_path):
    rt = traces.read(write_run(tmp_path) + [str(tmp_path / "missing.jsonl")])
    assert len(rt.files) == 2 and rt.bad_lines == 1
    assert len(rt.spans) == 6
    by = rt.by_trace()
    assert sorted(len(v) for v in by.values()) == [1, 2, 3]
    top = traces.slowest(rt, 2)
    assert [r.attrs["knbench.seq"] for r in top] == [7, 8]
    assert top[0].duration_ms == 100.0


def test_the_tree_nests_by_parent_and_counts_what_no_child_covers(tmp_path):
    rt = traces.read(write_run(tmp_path))
    root = traces.slowest(rt, 1)[0]
    rows = traces.tree(root, rt.by_trace()[root.trace_id])
    assert [(depth, s.service, s.name) for depth, s, _ in rows] == [
        (0, "load_driver", "load_worker.LoadWorker/InvokeWorker"),
        (1, "worker", "load_worker.LoadWorker/InvokeWorker"),
        (2, "worker", "spin")]
    # 100 ms less the worker's 70; 70 less the spin's 50; the spin is a leaf.
    assert [gap for _, _, gap in rows] == [30_000_000, 20_000_000, None]


def test_uncovered_time_counts_overlapping_children_once_and_clips_them():
    parent = traces.Span("t", "p", "", "s", "p", 0, 100)
    kids = [traces.Span("t", "a", "p", "s", "a", 10, 40),
            traces.Span("t", "b", "p", "s", "b", 30, 60),  # overlaps a
            traces.Span("t", "c", "p", "s", "c", 90, 130)]  # runs past the parent
    assert traces.uncovered_ns(parent, kids) == 100 - 50 - 10


def test_a_span_whose_parent_is_missing_hangs_under_the_root():
    root = traces.Span("t", "r", "", "load_driver", "call", 0, 100, kind=3)
    lost = traces.Span("t", "w", "gone", "worker", "call", 20, 80)
    rows = traces.tree(root, [root, lost])
    assert [(d, s.span_id, g) for d, s, g in rows] == [(0, "r", 40), (1, "w", None)]


def text_of(fragment):
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\xa0", " ")


def test_the_html_links_the_files_and_shows_the_slowest_requests(tmp_path):
    out = tmp_path / "out"
    page = traces.html(traces.read(write_run(tmp_path)), str(out))
    assert "href='../traces-10rps-8ms.jsonl'" in page
    assert "href='../traces-10rps-8ms-pods.jsonl'" in page
    words = " ".join(text_of(page).split())
    assert "6 spans in 3 traces; 1 line(s) that are not OTLP/JSON skipped" in words
    assert words.index("seq 7") < words.index("seq 8") < words.index("seq 9")
    assert "load_driver load_worker.LoadWorker/InvokeWorker 0.000 100.000 30.000" in words
    assert "worker spin 30.000 50.000" in words
    # Indented by depth: the spin two levels under the driver's span.
    assert "&nbsp;" * 8 + "spin" in page


def test_runs_without_traces_say_so_in_one_line(tmp_path):
    assert traces.html(traces.read([]), str(tmp_path)) == (
        "<p class='note'>Traces: none for this run (tracing was off).</p>")
    (tmp_path / "traces-x.jsonl").write_text(request("worker", [span(1, 2, 3, "spin", 0, 5)]))
    page = traces.html(traces.read([str(tmp_path / "traces-x.jsonl")]), str(tmp_path))
    assert "No request of the driver was traced in this run." in page


def test_the_report_finds_each_runs_files_in_runs_json(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    synth.write_new_csv(d / "results-10rps-8ms.csv", rps=10, spin=8)
    synth.write_new_csv(d / "results-20rps-8ms.csv", rps=20, spin=8)
    write_run(d)
    files = {"csv": "results-{}.csv", "summary": "summary-{}.json"}
    runs = []
    for i, (name, rps) in enumerate((("10rps-8ms", 10), ("20rps-8ms", 20)), start=1):
        f = {k: v.format(name) for k, v in files.items()}
        if rps == 10:
            f.update(traces=f"traces-{name}.jsonl", pod_traces=f"traces-{name}-pods.jsonl")
        runs.append({"index": i, "rps": rps, "spin_ms": 8, "repeat": 1, "name": name,
                     "files": f, "status": "ok", "collect": "ok", "idle_confirmed": True})
    (d / "runs.json").write_text(json.dumps({"format": "knbench-sweep-runs/1", "runs": runs}))
    info = read_sweep_info(str(d))
    assert info.records["10rps-8ms"].traces == ("traces-10rps-8ms.jsonl",
                                                 "traces-10rps-8ms-pods.jsonl")
    assert info.records["20rps-8ms"].traces == ()
    r = run_tool(d, "--out-dir", d / "out", "--no-run-plots")
    assert r.returncode == 0, r.stderr
    page = (d / "out" / "report.html").read_text()
    first, second = page.split("<h3 id='run-20rps-8ms'>") if \
        page.index("run-10rps-8ms") < page.index("run-20rps-8ms") else (None, None)
    assert first is not None
    assert "href='../traces-10rps-8ms-pods.jsonl'" in first and "seq 7" in first
    assert "Traces: none for this run (tracing was off)." in second.split("<h3")[0]


def test_without_runs_json_the_files_are_found_by_name(tmp_path):
    write_run(tmp_path)
    (tmp_path / "traces-10rps-8ms-r2.jsonl").write_text("")  # another run's
    info = read_sweep_info(str(tmp_path))
    assert [os.path.basename(p) for p in traces.run_files(str(tmp_path), "10rps-8ms", info)] \
        == ["traces-10rps-8ms-pods.jsonl", "traces-10rps-8ms.jsonl"]


def request_of(pod, spans):
    doc = json.loads(request("load_driver", spans))
    doc["resourceSpans"][0]["resource"]["attributes"].append(
        {"key": "k8s.pod.name", "value": {"stringValue": pod}})
    return json.dumps(doc)


def test_with_several_drivers_a_request_is_named_by_its_driver_and_its_own_seq(tmp_path):
    path = tmp_path / "traces-10rps-8ms.jsonl"
    path.write_text(request_of("load-driver-1", [client(1, 0, 90_000, 1)]) + "\n"
                    + request_of("load-driver-2", [client(2, 0, 80_000, 1)]) + "\n")
    words = " ".join(text_of(traces.html(traces.read([str(path)]), str(tmp_path))).split())
    assert "(seq: each driver's own, not the merged CSV's)" in words
    assert words.index("load-driver-1 seq 1,") < words.index("load-driver-2 seq 1,")
    path.write_text(request_of("load-driver-1", [client(1, 0, 90_000, 1)]) + "\n")
    words = " ".join(text_of(traces.html(traces.read([str(path)]), str(tmp_path))).split())
    assert "merged" not in words and "load-driver-1" not in words and "seq 1," in words
