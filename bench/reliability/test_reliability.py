"""Reliability of the worker and the driver under faults, over loopback.

Complements load_driver/tests (usage errors of flags, driver SIGTERM with a
complete CSV, dead target) and worker/tests (invalid durations one by one,
SIGTERM with a Python client): here the two binaries run together and the
faults come from outside — a worker killed or stopped under the driver's
load, hostile bytes on both of the worker's ports, schedules that must be
refused before any load, and an output that cannot be written.

Every wait is on a condition with a deadline; every load is bounded.
Run by ctest with WORKER_BIN and DRIVER_BIN set.
"""
import csv
import json
import os
import sys
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import grpc
import pytest
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
from knbench_proc import free_port, listen_addresses, wait_until  # noqa: E402

WORKER = os.environ["WORKER_BIN"]
DRIVER = os.environ["DRIVER_BIN"]
METHOD = "/load_worker.LoadWorker/InvokeWorker"


# ---------------------------------------------------------------- helpers


def get(port, path, timeout=5):
    """(status, body) of GET path; (None, "") when there is no answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:  # an answer all the same
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def metric_value(text, name, status):
    m = re.search(rf'^{name}\{{[^}}]*status="{status}"[^}}]*\}} ([0-9.e+]+)$',
                  text, re.M)
    return float(m.group(1)) if m else 0.0


def varint(n):
    n &= (1 << 64) - 1  # int64 two's complement, as protobuf encodes it
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def work_request(duration_ms):
    """WorkRequest{duration_ms} on the wire (field 1, varint)."""
    return b"" if duration_ms == 0 else b"\x08" + varint(duration_ms)


class Worker:
    def __init__(self, tmp, name, grpc_port=None, args=()):
        self.grpc_port = grpc_port or free_port()
        self.metrics_port = free_port()
        self.log_path = os.path.join(tmp, f"{name}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [WORKER, "--bind=127.0.0.1", f"--grpc-port={self.grpc_port}",
                 f"--metrics-port={self.metrics_port}", *args],
                env={**os.environ, "POD_NAME": name}, stdout=log,
                stderr=subprocess.STDOUT)
        wait_until(self.serving, 20, f"worker {name} to serve")

    def serving(self):
        assert self.proc.poll() is None, self.log()
        return get(self.metrics_port, "/healthz", timeout=1)[0] == 200

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def call(self, duration_ms, timeout=10):
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as ch:
            stub = ch.unary_unary(METHOD, request_serializer=work_request,
                                  response_deserializer=lambda b: b)
            return stub(duration_ms, timeout=timeout)

    def metrics(self):
        status, text = get(self.metrics_port, "/metrics")
        assert status == 200
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=20)


class Driver:
    def __init__(self, tmp, name, args):
        self.out = os.path.join(tmp, f"{name}.csv")
        self.summary = os.path.join(tmp, f"{name}.json")
        self.metrics_port = free_port()
        self.proc = subprocess.Popen(
            [DRIVER, "--bind=127.0.0.1", f"--out={self.out}",
             f"--summary={self.summary}",
             f"--metrics-port={self.metrics_port}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def count(self, status):
        st, text = get(self.metrics_port, "/metrics", timeout=1)
        if st != 200:
            return 0.0
        return metric_value(text, "load_driver_requests_total", status)

    def wait(self, timeout):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def rows(self):
        with open(self.out, newline="") as f:
            return list(csv.DictReader(f))

    def result(self):
        with open(self.summary) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=20)


@pytest.fixture
def cleanup():
    started = []
    yield started
    for p in reversed(started):
        p.stop()


def check_counts(rows, summary):
    """Every scheduled request is one row; summary counts match the rows."""
    assert len(rows) == summary["scheduled"]
    by = {s: sum(r["status"] == s for r in rows)
          for s in ("success", "failure", "dropped")}
    assert by["success"] == summary["success"]
    assert by["failure"] == summary["failure"]
    assert by["dropped"] == summary["dropped"]
    assert sorted(int(r["seq"]) for r in rows) == list(
        range(1, len(rows) + 1))
    return by


# ---------------------------------------------------------------- tests


def test_worker_killed_mid_run_then_back_on_the_same_port(tmp_path, cleanup):
    tmp = str(tmp_path)
    first = Worker(tmp, "first")
    cleanup.append(first)
    port = first.grpc_port
    driver = Driver(tmp, "kill", [f"--target=127.0.0.1:{port}", "--rps=200",
                                  "--duration=10s", "--spin-ms=0",
                                  "--timeout=2s"])
    cleanup.append(driver)
    wait_until(lambda: driver.count("success") >= 100, 20,
               "100 successes before the kill")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    wait_until(lambda: driver.count("failure") >= 20, 20,
               "failures while the worker is down")
    second = Worker(tmp, "second", grpc_port=port)
    cleanup.append(second)
    code, err = driver.wait(timeout=60)
    assert code == 0, err
    rows, summary = driver.rows(), driver.result()
    by = check_counts(rows, summary)
    assert by["failure"] >= 20
    pods = summary["pods"]
    assert pods.get("first", 0) >= 100
    assert pods.get("second", 0) > 0, summary
    # After the first success from the new worker, nothing fails.
    first_new = min(int(r["seq"]) for r in rows if r["pod"] == "second")
    assert all(r["status"] == "success" for r in rows
               if int(r["seq"]) > first_new)
    assert {r["grpc_code"] for r in rows if r["status"] == "failure"} <= {
        "UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "INTERNAL",
        "UNKNOWN"}


def test_worker_sigterm_under_load_completes_calls_in_flight(tmp_path,
                                                             cleanup):
    tmp = str(tmp_path)
    worker = Worker(tmp, "draining")
    cleanup.append(worker)
    # 40 RPS of 500 ms spins: about 20 calls in flight at any moment.
    driver = Driver(tmp, "drain", [f"--target=127.0.0.1:{worker.grpc_port}",
                                   "--rps=40", "--duration=4s",
                                   "--spin-ms=500", "--timeout=10s"])
    cleanup.append(driver)
    wait_until(lambda: driver.count("success") >= 20, 20,
               "20 successes before SIGTERM")
    term_ms = time.time() * 1000
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=20) == 0, worker.log()
    code, err = driver.wait(timeout=60)
    assert code == 0, err
    rows = driver.rows()
    check_counts(rows, driver.result())

    def sent_ms(r):
        return int(r["timestamp_ms"]) + int(r["lag_us"] or 0) / 1000

    # Sent well before SIGTERM: every one succeeded, including those still
    # spinning when the signal came.
    before = [r for r in rows if r["status"] != "dropped"
              and sent_ms(r) < term_ms - 100]
    assert before and all(r["status"] == "success" for r in before), [
        (r["seq"], r["status"], r["grpc_code"]) for r in before
        if r["status"] != "success"]
    in_flight = [r for r in before
                 if sent_ms(r) + int(r["latency_us"]) / 1000 > term_ms]
    assert len(in_flight) >= 5
    # The worker stopped serving: later calls failed.
    assert any(r["status"] == "failure" for r in rows
               if sent_ms(r) > term_ms + 1000)


def test_hostile_input_leaves_the_worker_serving(tmp_path, cleanup):
    worker = Worker(str(tmp_path), "hostile")
    cleanup.append(worker)
    # Durations out of range are refused, one by one.
    for d in (-1, -(2**63), 2**63 - 1, 10**12, 600001):
        with pytest.raises(grpc.RpcError) as e:
            worker.call(d)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, d

    def blast(port, payload, hold=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(payload)
        except OSError:
            pass  # the server may close first
        if hold:
            return s
        s.settimeout(2)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()
        return None

    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    grpc_garbage = [
        os.urandom(4096),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        preface + os.urandom(1000),
        preface + b"\xff\xff\xff\x01\x04\x00\x00\x00\x01",  # oversized frame
        preface + b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00" * 6,
        b"\x00" * 100000,
        preface[:10],
    ]
    held = [blast(worker.grpc_port, preface[:12], hold=True)]
    for payload in grpc_garbage:
        blast(worker.grpc_port, payload)

    http_garbage = [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /metrics HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\nx",
        b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 20000 + b"\r\n",
        os.urandom(8192),
        b"\x00" * 1000 + b"\r\n\r\n",
    ]
    # A client that sent half a request and went quiet must not block others.
    held.append(blast(worker.metrics_port, b"GET /metr", hold=True))
    for payload in http_garbage:
        blast(worker.metrics_port, payload)

    try:
        reply = worker.call(1)
        assert b"hostile" in reply
        text = worker.metrics()
        assert metric_value(text, "worker_requests_total", "invalid") == 5
        assert metric_value(text, "worker_requests_total", "success") == 1
        assert get(worker.metrics_port, "/healthz")[0] == 200
    finally:
        for s in held:
            s.close()
    assert worker.proc.poll() is None


# (extra flags, a piece of the one error line that names the fault)
BAD_SCHEDULES = [
    (["--schedule=trace:/nonexistent/trace.txt"], "/nonexistent/trace.txt"),
    (["--schedule=trace:{bad_trace}"], "line 3"),
    (["--schedule=trace:{empty_trace}"], "no rates"),
    (["--schedule=step:100:0:200@1s"], "step:100:0:200@1s"),
    (["--schedule=-5@10s"], "-5"),
    (["--schedule=10..-1@10s"], "-1"),
    (["--schedule=0@10s"], "0@10s"),
    (["--schedule=10@0s"], "10@0s"),
    (["--schedule=10@1s,,10@1s"], "empty phase"),
    (["--schedule=nan@1s"], "nan"),
    (["--schedule=1e400@1s"], "1e400"),
    (["--schedule=10@1s", "--arrivals=sometimes"], "sometimes"),
    (["--spin-ms=-1"], "--spin-ms"),
    (["--connections=0"], "--connections"),
    (["--timeout=0s"], "--timeout"),
    (["--warmup=-1s"], "--warmup"),
    (["--max-inflight=0"], "--max-inflight"),
    (["--metrics-port=70000"], "--metrics-port"),
    (["--target=127.0.0.1:notaport"], "notaport"),
]


@pytest.mark.parametrize("args,needle", BAD_SCHEDULES,
                         ids=[" ".join(a) for a, _ in BAD_SCHEDULES])
def test_bad_flags_and_schedules_exit_2_with_one_line_and_no_load(
        tmp_path, args, needle):
    bad_trace = tmp_path / "bad.txt"
    bad_trace.write_text("10\n20\nfast\n")
    empty_trace = tmp_path / "empty.txt"
    empty_trace.write_text("# only a comment\n\n")
    args = [a.format(bad_trace=bad_trace, empty_trace=empty_trace)
            for a in args]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        full = [f"--target=127.0.0.1:{port}", "--rps=100", "--duration=2s",
                "--bind=127.0.0.1", "--metrics-port=0",
                f"--out={tmp_path}/r.csv", *args]
        r = subprocess.run([DRIVER, *full], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1, (args, r.stderr)
        assert lines[0].startswith("load_driver: "), lines
        assert needle in lines[0], (needle, lines)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected: no load was sent
    assert not os.path.exists(f"{tmp_path}/r.csv")


def test_out_on_dev_full_reports_the_write_error_and_keeps_counts(tmp_path,
                                                                  cleanup):
    worker = Worker(str(tmp_path), "full")
    cleanup.append(worker)
    summary = tmp_path / "summary.json"
    r = subprocess.run(
        [DRIVER, f"--target=127.0.0.1:{worker.grpc_port}", "--rps=200",
         "--duration=2s", "--spin-ms=0", "--out=/dev/full",
         f"--summary={summary}", "--bind=127.0.0.1", "--metrics-port=0"],
        capture_output=True, text=True, timeout=60)
    assert r.returncode != 0, r.stderr
    assert re.search(r"/dev/full|No space left", r.stderr), r.stderr
    s = json.loads(summary.read_text())
    assert s["write_error"], s
    assert s["scheduled"] == 400
    assert s["success"] + s["failure"] + s["dropped"] == 400
    assert s["success"] == 400
    text = worker.metrics()
    assert metric_value(text, "worker_requests_total", "success") == 400


class SlowStartProxy:
    """A TCP proxy on 127.0.0.1 to `upstream`: the server side of each
    connection starts only after `delay` seconds, as for a server whose
    first bytes are slow (a cold container behind a proxy)."""

    def __init__(self, upstream, delay):
        self.upstream, self.delay = upstream, delay
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            threading.Thread(target=self._serve, args=(client,),
                             daemon=True).start()

    def _serve(self, client):
        time.sleep(self.delay)  # the fault: nothing from the server yet
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return
        self.sockets.append(server)
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=self._pipe, args=(a, b),
                             daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.listener.close()
        for s in self.sockets:
            s.close()


def test_slow_first_bytes_connect_before_the_first_send(tmp_path, cleanup):
    """gRPC's connect timeout was 100 ms to 1 s (the reconnect backoff
    setting sets it too): with first bytes 1.5 s late, 50 of 50 calls
    failed. The driver now connects before its first send, with
    --connect-timeout (20 s) to do it in."""
    tmp = str(tmp_path)
    worker = Worker(tmp, "slow-start")
    cleanup.append(worker)
    proxy = SlowStartProxy(worker.grpc_port, 1.5)
    cleanup.append(proxy)
    driver = Driver(tmp, "slow", [f"--target=127.0.0.1:{proxy.port}",
                                  "--rps=50", "--duration=1s", "--spin-ms=0",
                                  "--timeout=10s"])
    cleanup.append(driver)
    code, err = driver.wait(timeout=60)
    assert code == 0, err
    rows, summary = driver.rows(), driver.result()
    check_counts(rows, summary)
    assert summary["success"] == 50, (summary["errors"], err)
    assert "connected to" in err
    # Connected before the first send: the first request did not wait for
    # the connection.
    first = min(rows, key=lambda r: int(r["seq"]))
    assert int(first["latency_us"]) < 1_000_000, first

    # A connect timeout shorter than the server's first bytes: the driver
    # says so and sends anyway; the requests record the failures.
    short = Driver(tmp, "short", [f"--target=127.0.0.1:{proxy.port}",
                                  "--rps=20", "--duration=1s", "--spin-ms=0",
                                  "--connect-timeout=300ms", "--timeout=2s"])
    cleanup.append(short)
    code, err = short.wait(timeout=60)
    assert code == 0, err
    assert "sending anyway" in err
    assert short.result()["failure"] > 0


def test_driver_metrics_port_listens_where_bind_says(tmp_path, cleanup):
    driver = Driver(str(tmp_path), "bound", ["--target=127.0.0.1:1",
                                             "--rps=1", "--duration=30s"])
    cleanup.append(driver)
    wait_until(lambda: get(driver.metrics_port, "/healthz", 1)[0] == 200, 20,
               "the driver's metrics port")
    assert listen_addresses(driver.metrics_port) == {"0100007F"}  # 127.0.0.1


def test_driver_with_500_slow_http_clients_answers_probes_and_exits_on_time(
        tmp_path, cleanup):
    """500 clients trickling headers into the driver's metrics port made
    /done (the Job's readiness probe) return 503 for the whole run, and a
    3 s run exit after 31.7 s."""
    tmp = str(tmp_path)
    worker = Worker(tmp, "probe-target")
    cleanup.append(worker)
    driver = Driver(tmp, "probed", [f"--target=127.0.0.1:{worker.grpc_port}",
                                    "--rps=20", "--duration=3s",
                                    "--spin-ms=0"])
    cleanup.append(driver)
    started = time.monotonic()
    wait_until(lambda: get(driver.metrics_port, "/healthz", 1)[0] == 200, 20,
               "the driver's metrics port")
    slow = []
    try:
        for _ in range(500):
            s = socket.create_connection(("127.0.0.1", driver.metrics_port),
                                         10)
            s.sendall(b"GET /done HTTP/1.1\r\n")
            slow.append(s)
        answers = []
        while driver.proc.poll() is None and len(answers) < 5:
            for s in slow:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            answers.append(get(driver.metrics_port, "/done", 2)[0])
        # Answered (503: the run is still going), never timed out.
        assert answers and all(a == 503 for a in answers), answers
        code, err = driver.wait(timeout=60)
        took = time.monotonic() - started
        print(f"3 s run with 500 slow clients on its metrics port: exited "
              f"after {took:.1f} s")
        assert code == 0, err
        assert took < 3 + 5, f"exited after {took:.1f} s"
    finally:
        for s in slow:
            s.close()
