"""Traces in local sweeps (issue 19): --trace-sample-rate's bounds and modes, the drivers'
and the pods' flags (none at all at 0), the pods' OTLP receiver and its per-run files,
and each run's trace files in the records."""

import json
import os
import urllib.error
import urllib.request

import pytest

from conftest import FAKES
from knbench_sweep import net, settings, traces
from knbench_sweep.console import UsageError
from knbench_sweep.local import LocalBackend
from knbench_sweep.local_drivers import driver_argv
from knbench_sweep.plan import build_plan
from knbench_sweep.sut import systems

BINS = {"WORKER_BIN": os.path.join(FAKES, "worker"),
        "DRIVER_BIN": os.path.join(FAKES, "load_driver"),
        "LOCAL_SERVING_BIN": os.path.join(FAKES, "local_serving"),
        "KPA_MODEL_BIN": os.path.join(FAKES, "kpa_model")}


def resolve(*argv, **env):
    return settings.resolve(["--duration", "2s", "--warmup", "1", *argv], dict(BINS, **env))


def test_the_rate_defaults_to_one_percent_in_local_mode_and_is_bounded():
    assert resolve().trace_sample_rate == "0.01"
    assert resolve(TRACE_SAMPLE_RATE="0.5").trace_sample_rate == "0.5"
    assert resolve("--trace-sample-rate", "1", TRACE_SAMPLE_RATE="0.5").trace_sample_rate == "1"
    assert settings.conf_lines(resolve("--trace-sample-rate=0"))["trace_sample_rate"] == "0"
    for bad in ("1.5", "-0.1", "abc", ""):
        with pytest.raises(UsageError) as e:
            resolve("--trace-sample-rate", bad)
        assert str(e.value) == (f"--trace-sample-rate must be a ratio between 0 and 1, "
                                f"got '{bad}'")
    with pytest.raises(UsageError, match="TRACE_SAMPLE_RATE must be a ratio between 0 and 1"):
        resolve(TRACE_SAMPLE_RATE="2")


def test_cluster_mode_records_nothing_new():
    with pytest.raises(UsageError, match="^--trace-sample-rate is local-mode only$"):
        settings.resolve(["--mode", "cluster", "--trace-sample-rate", "0.1"], {})
    s = settings.resolve(["--mode", "cluster"], {"TRACE_SAMPLE_RATE": "0.1"})
    assert s.trace_sample_rate is None
    assert "trace_sample_rate" not in settings.conf_lines(s)
    assert "trace_sample_rate" not in settings.as_json(s)


def argv_for(s, trace_out):
    return driver_argv(s, 10, 5, "127.0.0.1:1", "out.csv", "summary.json", 1, trace_out)


def test_the_driver_gets_its_trace_flags_and_none_at_zero():
    argv = argv_for(resolve("--trace-sample-rate", "0.25"), "/r/traces-10rps-5ms.jsonl")
    i = argv.index("--trace-sample-rate")
    assert argv[i:i + 4] == ["--trace-sample-rate", "0.25", "--trace-out",
                             "/r/traces-10rps-5ms.jsonl"]
    off = resolve("--trace-sample-rate", "0")
    assert not [a for a in argv_for(off, "/r/x.jsonl") if "trace" in a or "otlp" in a]
    assert driver_argv(off, 10, 5, "127.0.0.1:1", "out.csv", "summary.json", 1) == \
        argv_for(off, "/r/x.jsonl")
    assert traces.run_files(off, "10rps-5ms") == {}
    assert traces.run_files(resolve(), "10rps-5ms-r2") == {
        "traces": "traces-10rps-5ms-r2.jsonl", "pod_traces": "traces-10rps-5ms-r2-pods.jsonl"}


def post(url, body, content_type="application/json"):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_receiver_writes_each_export_request_to_the_run_in_progress(tmp_path):
    r = traces.Receiver(net.Ports().take())
    try:
        one = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16}]}]}]}
        assert post(r.url, json.dumps(one).encode()) == (200, b"{}")  # before any run: kept nowhere
        r.begin(str(tmp_path / "a.jsonl"))
        assert post(r.url, json.dumps(one).encode())[0] == 200
        assert post(r.url, b"{not json")[0] == 400
        assert post(r.url, b"[1, 2]")[0] == 400
        assert post(r.url.replace("/v1/traces", "/v1/metrics"), b"{}")[0] == 404
        r.begin(str(tmp_path / "b.jsonl"))
        two = dict(one, note="second")
        assert post(r.url, json.dumps(two).encode())[0] == 200
        assert (r.received, r.rejected) == (3, 3)
    finally:
        r.stop()
    assert [json.loads(x) for x in open(tmp_path / "a.jsonl")] == [one]
    assert [json.loads(x) for x in open(tmp_path / "b.jsonl")] == [two]


def calls(tmp_path, name):
    with open(tmp_path / "calls") as f:
        return [c for c in map(json.loads, f) if c["name"] == name]


def run_fixed_pods(tmp_path, *argv):
    s = resolve("--local-pods", "2", *argv)
    (tmp_path / "logs").mkdir()
    b = LocalBackend(s, systems(s)[0], str(tmp_path / "logs"))
    point = build_plan([5], [10], 1)[0]
    try:
        b.setup()
        assert b.wait_idle(s.rate_window_s)
        b.run(point, str(tmp_path / "results-5rps-10ms.csv"), str(tmp_path / "summary.json"))
        return b, point, b.receiver.url if b.receiver else ""
    finally:
        b.teardown()


def test_fixed_pods_export_to_the_receiver_and_the_drivers_traces_are_one_file(fake_env):
    b, point, url = run_fixed_pods(fake_env)
    assert b.run_files(point) == {"traces": "traces-5rps-10ms.jsonl",
                                  "pod_traces": "traces-5rps-10ms-pods.jsonl"}
    workers = calls(fake_env, "worker")
    assert len(workers) == 2 and url.endswith("/v1/traces")
    assert all(f"--otlp-endpoint={url}" in w["argv"] for w in workers)
    drivers = calls(fake_env, "load_driver")
    assert all(d["argv"][d["argv"].index("--trace-sample-rate") + 1] == "0.01"
               for d in drivers)
    # Named in their spans' resource: their seq numbers repeat.
    assert sorted(d["pod"] for d in drivers) == ["load-driver-1", "load-driver-2"]
    # Each driver wrote its own file; the run's is both, in driver order.
    lines = [json.loads(x) for x in open(fake_env / "traces-5rps-10ms.jsonl")]
    outs = [a["value"]["stringValue"] for doc in lines
            for a in doc["resourceSpans"][0]["resource"]["attributes"] if a["key"] == "fake.out"]
    assert [os.path.basename(o) for o in outs] == ["run-driver1.csv", "run-driver2.csv"]
    assert os.path.isfile(fake_env / "traces-5rps-10ms-pods.jsonl")


def test_at_zero_nothing_traces(fake_env):
    b, point, url = run_fixed_pods(fake_env, "--trace-sample-rate", "0")
    assert url == "" and b.run_files(point) == {}
    argvs = [c["argv"] for c in calls(fake_env, "worker") + calls(fake_env, "load_driver")]
    assert argvs and not [a for argv in argvs for a in argv
                          if a.startswith("--") and ("trace" in a or "otlp" in a)]
    assert not [n for n in os.listdir(fake_env) if n.startswith("traces-")]


def test_local_serving_and_every_pod_get_the_endpoint(fake_env):
    s = resolve()
    b = LocalBackend(s, systems(s)[0], str(fake_env / "logs"))
    try:
        b.setup()
        serving = calls(fake_env, "local_serving")[-1]["argv"]
        assert f"--worker-arg=--otlp-endpoint={b.receiver.url}" in serving
        # Its own activator and queue-proxy spans, to the same receiver.
        assert f"--otlp-endpoint={b.receiver.url}" in serving
        assert f"--otlp-endpoint={b.receiver.url}" in b.describe()["worker_flags"]
    finally:
        b.teardown()
    assert b.receiver is None
