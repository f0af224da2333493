"""Tracing end to end: the real load_driver and worker binaries over gRPC on
loopback, exporting to a local OTLP/HTTP receiver (otlp_receiver.py), to a
collector that is down and to one that accepts and never answers."""
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import grpc
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
sys.path.insert(0, HERE)
from knbench_proc import free_port, wait_until  # noqa: E402
from otlp_receiver import Receiver, attribute, request_problems, spans_of  # noqa: E402

WORKER = os.environ["WORKER_BIN"]
DRIVER = os.environ["DRIVER_BIN"]
METHOD = "/load_worker.LoadWorker/InvokeWorker"
# WorkRequest{duration_ms: 1}: field 1, varint 1.
WORK_1MS = b"\x08\x01"


def metric(port, name, label):
    """A sample of /metrics on `port` (`name{label}`), or None."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^{re.escape(name)}{{{re.escape(label)}}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class Worker:
    def __init__(self, *args):
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.proc = subprocess.Popen(
            [WORKER, "--bind=127.0.0.1", f"--grpc-port={self.grpc_port}",
             f"--metrics-port={self.metrics_port}", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_until(self.healthy, what="the worker's /healthz")

    def healthy(self):
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=1):
                return True
        except OSError:
            return False

    def stop(self):
        """SIGTERM (which flushes its spans) and its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err


def run_driver(target, out, *args, rps=50, duration="2s", background=False):
    command = [DRIVER, f"--target={target}", f"--rps={rps}", "--spin-ms=2",
               f"--duration={duration}", f"--out={out}", "--bind=127.0.0.1",
               "--progress-interval=0", "--timeout=10s", *args]
    if background:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    r = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def file_spans(path):
    """(service.name, span) of a --trace-out file, each line checked."""
    spans = []
    with open(path) as f:
        for line in f:
            request = json.loads(line)
            assert request_problems(request) == []
            spans += list(spans_of(request))
    return spans


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("transport", ["h2", "grpc"])
def test_every_request_is_one_trace_driver_server_spin(receiver, tmp_path, transport):
    worker = Worker(f"--otlp-endpoint={receiver.url}")
    out = tmp_path / "run.csv"
    trace_out = tmp_path / "driver.jsonl"
    try:
        run_driver(f"127.0.0.1:{worker.grpc_port}", out, f"--transport={transport}",
                   "--trace-sample-rate=1", f"--otlp-endpoint={receiver.url}",
                   f"--trace-out={trace_out}", f"--metrics-port={free_port()}")
    finally:
        worker.stop()
    table = rows(out)
    assert len(table) == 100 and all(r["status"] == "success" for r in table)
    spans, problems = receiver.snapshot()
    assert problems == []
    by_trace = {}
    for service, span in spans:
        by_trace.setdefault(span["traceId"], []).append((service, span))
    clients = [s for svc, s in spans if svc == "load_driver"]
    # One client span per row (rows are in the order answers came).
    assert sorted(int(attribute(s, "knbench.seq")) for s in clients) == \
        sorted(int(r["seq"]) for r in table)
    # The driver's file holds the same spans as it posted.
    assert sorted(s["spanId"] for _, s in file_spans(trace_out)) == \
        sorted(s["spanId"] for s in clients)
    for client in clients:
        assert client["kind"] == 3 and "parentSpanId" not in client
        trace = by_trace[client["traceId"]]
        servers = [s for svc, s in trace if svc == "worker" and s["kind"] == 2]
        spins = [s for svc, s in trace if svc == "worker" and s["kind"] == 1]
        assert len(trace) == 3 and len(servers) == 1 and len(spins) == 1, trace
        server, spin = servers[0], spins[0]
        assert server["parentSpanId"] == client["spanId"]
        assert spin["parentSpanId"] == server["spanId"]
        assert attribute(server, "rpc.grpc.status_code") == "0"
        assert attribute(server, "rpc.system") == "grpc"
        assert attribute(server, "rpc.service") == "load_worker.LoadWorker"
        assert attribute(server, "rpc.method") == "InvokeWorker"
        times = [int(client["startTimeUnixNano"]), int(server["startTimeUnixNano"]),
                 int(spin["startTimeUnixNano"]), int(spin["endTimeUnixNano"]),
                 int(server["endTimeUnixNano"]), int(client["endTimeUnixNano"])]
        assert times == sorted(times), (client, server, spin)
        # The spin span covers the 2 ms the request asked for.
        assert times[3] - times[2] >= 2_000_000


def test_worker_continues_sampled_contexts_and_roots_the_rest(tmp_path):
    trace_out = tmp_path / "worker.jsonl"
    worker = Worker(f"--trace-out={trace_out}", "--trace-sample-rate=1")
    parent_trace, parent_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    unsampled_trace = "5bf92f3577b34da6a3ce929d0e0e4736"
    try:
        with grpc.insecure_channel(f"127.0.0.1:{worker.grpc_port}") as channel:
            call = channel.unary_unary(METHOD)
            for traceparent in (f"00-{parent_trace}-{parent_span}-01",
                                f"00-{unsampled_trace}-{parent_span}-00",
                                "00-not-a-traceparent-01",
                                f"00-{parent_trace.upper()}-{parent_span}-01",
                                None):
                metadata = [("traceparent", traceparent)] if traceparent else []
                # Every one is answered, whatever its traceparent.
                call(WORK_1MS, metadata=metadata, timeout=10)
    finally:
        worker.stop()
    servers = [s for _, s in file_spans(trace_out) if s["kind"] == 2]
    spins = [s for _, s in file_spans(trace_out) if s["kind"] == 1]
    # The sampled one continued; the unsampled one not traced; the two
    # malformed ones and the one without become roots (rate 1).
    assert len(servers) == 4 and len(spins) == 4
    continued = [s for s in servers if s["traceId"] == parent_trace]
    assert len(continued) == 1 and continued[0]["parentSpanId"] == parent_span
    roots = [s for s in servers if "parentSpanId" not in s]
    assert len(roots) == 3
    assert all(s["traceId"] != unsampled_trace for s in servers)
    assert {s["parentSpanId"] for s in spins} == {s["spanId"] for s in servers}


def test_dead_and_hung_collectors_cost_requests_nothing_and_drops_are_counted(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1/traces"
    # Accepts connections (the kernel does) and never reads or answers.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    hung_url = f"http://127.0.0.1:{hung.getsockname()[1]}/v1/traces"
    worker = Worker(f"--otlp-endpoint={hung_url}")
    out = tmp_path / "run.csv"
    metrics_port = free_port()
    try:
        driver = run_driver(f"127.0.0.1:{worker.grpc_port}", out,
                            "--trace-sample-rate=1", f"--otlp-endpoint={dead}",
                            f"--metrics-port={metrics_port}", "--linger=60s",
                            rps=200, duration="3s", background=True)
        try:
            # Opened empty at the start, written once the run is over.
            summary = tmp_path / "run.summary.json"
            wait_until(lambda: summary.exists() and summary.stat().st_size > 0,
                       timeout=60, what="the driver's summary")
            table = rows(out)
            # The driver's spans all went to a collector that is down: each
            # is counted as dropped once the flush has run.
            wait_until(lambda: metric(metrics_port, "tracing_spans_dropped_total",
                                      'reason="otlp_failed"') == len(table),
                       timeout=30, what="the driver's dropped spans")
            assert metric(metrics_port, "tracing_spans_exported_total",
                          'sink="otlp"') == 0
        finally:
            driver.send_signal(signal.SIGTERM)
            driver.communicate(timeout=30)
        assert len(table) == 600 and all(r["status"] == "success" for r in table)
        # Nobody waited for a collector: a POST that hangs takes 2 s before
        # it times out, and no request took half of that.
        assert max(int(r["latency_us"]) for r in table) < 1_000_000
        # The worker's spans wait on the hung collector, time out, and are
        # counted as dropped.
        wait_until(lambda: metric(worker.metrics_port, "tracing_spans_dropped_total",
                                  'reason="otlp_failed"') > 0,
                   timeout=30, what="the worker's dropped spans")
        assert metric(worker.metrics_port, "tracing_spans_exported_total",
                      'sink="otlp"') == 0
    finally:
        worker.stop()
        hung.close()


def test_bad_tracing_flags_are_one_line_and_exit_2(tmp_path):
    for args in (["--trace-sample-rate=2", f"--trace-out={tmp_path}/t"],
                 ["--trace-sample-rate=0.5"],
                 ["--otlp-endpoint=collector:4318"]):
        for binary in (WORKER, DRIVER):
            r = subprocess.run([binary, "--target=127.0.0.1:1", *args,
                                "--check-config"] if binary == DRIVER else
                               [binary, *args, "--check-config"],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 2, (binary, args, r.stderr)
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
