"""check_spans: a traced row's span counts must match its sample rate, so
that a run whose tracing did not happen fails rather than reading as a cheap
one."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from bench_procs import BenchError  # noqa: E402
from bench_tracing import CLIENT, SERVER, check_spans  # noqa: E402

INTERNAL = 1


def write_otlp(path, batches):
    """One OTLP/JSON export request per line, as --trace-out writes;
    `batches` is a list of lines, each a list of (trace number, kind)."""
    with open(path, "w") as f:
        for batch in batches:
            spans = [{"traceId": f"{n:032x}", "spanId": f"{i + 1:016x}",
                      "name": "x", "kind": kind}
                     for i, (n, kind) in enumerate(batch)]
            f.write(json.dumps({"resourceSpans": [{
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "knbench"},
                                "spans": spans}]}]}) + "\n")


@pytest.fixture
def files(tmp_path):
    return str(tmp_path / "driver.jsonl"), str(tmp_path / "worker.jsonl")


def traces(n, kind, first=1):
    return [(i, kind) for i in range(first, first + n)]


def test_rate_one_every_call_traced_by_both(files):
    d, w = files
    write_otlp(d, [traces(3, CLIENT), traces(2, CLIENT, first=4)])
    write_otlp(w, [traces(5, SERVER) + traces(5, INTERNAL)])
    assert check_spans("r", 1.0, 5, d, w) == {
        "client_spans": 5, "server_spans": 5, "expected_spans": 5.0}


@pytest.mark.parametrize("clients,servers,error", [
    (4, 4, "4 client spans for 5 calls"),  # a call went untraced
    (5, 4, "4 server spans"),  # the worker did not continue a trace
])
def test_rate_one_with_a_trace_missing_fails(files, clients, servers, error):
    d, w = files
    write_otlp(d, [traces(clients, CLIENT)])
    write_otlp(w, [traces(servers, SERVER)])
    with pytest.raises(BenchError, match=error):
        check_spans("r", 1.0, 5, d, w)


def test_untraced_run_at_a_small_rate_fails(files):
    d, w = files  # neither process wrote a file
    with pytest.raises(BenchError, match="0 client spans"):
        check_spans("r", 0.01, 10000, d, w)


def test_small_rate_within_and_beyond_its_binomial_bound(files):
    d, w = files
    # 10 000 calls at 0.01: 100 expected, 6 standard deviations ~ 60.
    write_otlp(d, [traces(120, CLIENT)])
    write_otlp(w, [traces(120, SERVER)])
    assert check_spans("r", 0.01, 10000, d, w)["client_spans"] == 120
    write_otlp(d, [traces(300, CLIENT)])
    write_otlp(w, [traces(300, SERVER)])
    with pytest.raises(BenchError, match="expected 100"):
        check_spans("r", 0.01, 10000, d, w)
