"""local_serving's router against hostile and unlucky clients, the real
binary with real worker processes as pods, on loopback, bounded in calls,
bytes and time: shutdown with a call at a pod, memory under large and
unfinished messages, streaming calls, and every call counted once under the
code its client saw.

Run by ctest with LOCAL_SERVING_BIN, WORKER_BIN and DRIVER_BIN set.
"""
import collections
import os
import re
import signal
import threading
import time

import grpc
import pytest

from serving_proc import ROOT, Serving, drive, wait_until  # noqa: E402

# Under ASan freed memory stays in a quarantine (256 MB by default) and
# counts in RSS: these tests bound RSS, so local_serving runs with a small one.
if os.environ.get("KNBENCH_SANITIZE") == "1":
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"

INVOKE = "/load_worker.LoadWorker/InvokeWorker"
ROUTER_H = os.path.join(ROOT, "local_serving", "include", "knbench", "local_serving",
                        "router.h")


def limit(name):
    """A constant of router.h: `inline constexpr T name = N;`, N a number,
    `size_t{N} << K` or `N << K`."""
    with open(ROUTER_H) as f:
        m = re.search(rf"\b{name}\s*=\s*(?:\w+\{{)?(\d+)\}}?(?:\s*<<\s*(\d+))?;", f.read())
    assert m, f"{name} not in {ROUTER_H}"
    return int(m.group(1)) << int(m.group(2) or 0)


def work_request(spin_ms):
    """load_worker.WorkRequest{duration_ms: spin_ms}, encoded (field 1, varint)."""
    out, n = bytearray([0x08]), spin_ms
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def rss_bytes(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def requests_by_code(serving):
    """local_serving_requests_total by code, the codes with a count only."""
    counts = {}
    for line in serving.get("/metrics").splitlines():
        m = re.match(r'local_serving_requests_total\{code="(\w+)"\} (\S+)', line)
        if m and float(m.group(2)):
            counts[m.group(1)] = int(float(m.group(2)))
    return counts


def codes_of(futures, timeout):
    """Each future's gRPC code name ("OK" for a success), counted."""
    codes = collections.Counter()
    for f in futures:
        try:
            f.result(timeout=timeout)
            codes["OK"] += 1
        except grpc.RpcError as e:
            codes[e.code().name] += 1
    return codes


@pytest.fixture
def channel(request):
    """Channels to open, closed after the test."""
    opened = []

    def open_channel(target):
        ch = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", -1)])
        opened.append(ch)
        return ch
    yield open_channel
    for ch in opened:
        ch.close()


@pytest.mark.parametrize("where", ["at_a_pod", "queued_then_sent_in_the_grace"])
def test_shutdown_with_a_call_in_progress_is_orderly(tmp_path, channel, where):
    """SIGTERM with a 20 s spin in progress: the call gets UNAVAILABLE when
    the 3 s grace ends, its pod call is cancelled, the pod drains on SIGTERM
    (exit 0, no SIGKILL) and local_serving exits 0. Queued: the call waits
    for a pod that gets ready during the grace (start delay 1 s)."""
    delay = "0s" if where == "at_a_pod" else "1s"
    serving = Serving(tmp_path, "--initial-scale=0", "--window=6s", "--shutdown-grace=6s",
                      f"--pod-start-delay={delay}")
    try:
        invoke = channel(serving.target).unary_unary(INVOKE)
        call = invoke.future(work_request(20000))
        if where == "at_a_pod":
            wait_until(lambda: serving.state()["inflight"] == 1, 20, "the call at its pod")
        else:
            wait_until(lambda: serving.state()["queued"] == 1 and
                       serving.state()["pending"] == 1, 20, "the call queued, a pod pending")
        started = time.monotonic()
        assert serving.stop(signal.SIGTERM, timeout=30) == 0, serving.text()
        with pytest.raises(grpc.RpcError) as e:
            call.result(timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE, e.value
        assert "shutting down" in e.value.details()
        # The grace, the answer, and the pod's own drain: not the 20 s spin.
        assert time.monotonic() - started < 15
        text = serving.text()
        assert "stopped (exit 0)" in text, text
        assert "signal 9" not in text, text
    finally:
        serving.stop(signal.SIGKILL)


def test_every_call_is_counted_once_under_the_code_its_client_saw(tmp_path, channel):
    """Deadlines that pass at the pod, empty bodies, calls whose deadline
    passes before their message is read, a streaming call: the counter by
    code equals what the clients saw, call for call."""
    serving = Serving(tmp_path, "--min-scale=1", "--pod-start-delay=0s")
    try:
        wait_until(lambda: serving.state()["ready"] == 1, 20, "the pod")
        saw = collections.Counter()
        # 20 calls of 3 s spins with a 1 s deadline, from the load driver.
        rows = drive(serving, "20@1s", 3000, timeout="1s")
        saw.update(r["grpc_code"] for r in rows)
        assert saw == {"DEADLINE_EXCEEDED": 20}, saw
        ch = channel(serving.target)
        raw = ch.stream_unary(INVOKE)
        # No message at all.
        saw.update(codes_of([raw.future(iter([]), timeout=5) for _ in range(5)], 10))
        # The message never comes before the deadline.
        never = threading.Event()

        def late():
            never.wait(5)
            yield work_request(1)
        saw.update(codes_of([raw.future(late(), timeout=0.5) for _ in range(3)], 10))
        never.set()
        # A streaming method.
        watch = ch.unary_stream("/grpc.health.v1.Health/Watch")
        try:
            list(watch(b"", timeout=5))
        except grpc.RpcError as e:
            saw[e.code().name] += 1
        assert saw == {"DEADLINE_EXCEEDED": 23, "INTERNAL": 5, "UNIMPLEMENTED": 1}, saw
        wait_until(lambda: sum(requests_by_code(serving).values()) >= sum(saw.values()), 10,
                   "every call counted")
        assert requests_by_code(serving) == dict(saw)
    finally:
        assert serving.stop() == 0


def test_streaming_calls_are_refused_and_do_not_hold_a_pod(tmp_path, channel):
    """grpc.health.v1.Health/Watch through the router: UNIMPLEMENTED at
    once; the revision has nothing in flight and scales to zero."""
    serving = Serving(tmp_path, "--initial-scale=0", "--window=6s",
                      "--scale-to-zero-grace-period=6s", "--pod-start-delay=0s")
    try:
        watch = channel(serving.target).unary_stream("/grpc.health.v1.Health/Watch")
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            list(watch(b"", timeout=30))
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "unary calls only" in e.value.details()
        assert time.monotonic() - started < 5
        state = serving.state()
        assert state["inflight"] == 0 and state["queued"] == 0 and state["reading"] == 0
    finally:
        assert serving.stop() == 0


def test_large_messages_at_zero_pods_stay_within_the_budget(tmp_path, channel):
    """100 calls of 4 MB each to a revision at zero (no pod gets ready): RSS
    grows by less than the message budget plus 32 MiB (it grew by 400 MB
    when only the number of calls was bounded); the calls beyond the budget
    are refused, none waits beyond its deadline."""
    serving = Serving(tmp_path, "--initial-scale=0", "--pod-start-delay=60s")
    try:
        pid = serving.proc.pid
        before = rss_bytes(pid)
        invoke = channel(serving.target).unary_unary(INVOKE)
        calls = [invoke.future(b"\0" * 4_000_000, timeout=5) for _ in range(100)]
        codes = codes_of(calls, 20)
        grown = rss_bytes(pid, "VmHWM") - before
        bound = limit("kMessageBudgetBytes") + (32 << 20)
        assert grown < bound, (grown >> 20, bound >> 20, codes)
        # Held: at most what the budget takes; the rest refused or reset.
        assert codes["DEADLINE_EXCEEDED"] <= limit("kMessageBudgetBytes") // 4_000_000, codes
        assert codes["OK"] == 0 and sum(codes.values()) == 100, codes
        wait_until(lambda: serving.state()["message_bytes"] == 0, 10, "the budget given back")
    finally:
        assert serving.stop() == 0


def test_streams_whose_message_never_comes_are_bounded_and_timed_out(tmp_path, channel):
    """300 streams that send headers and never their message, with a queue
    depth of 200: the 100 beyond it get UNAVAILABLE at once (they wait as
    queued calls do); /state shows the 200 others, and each gets
    DEADLINE_EXCEEDED when its message is late (the router's timeout, well
    before the client's 60 s); RSS stays bounded."""
    serving = Serving(tmp_path, "--initial-scale=0", "--pod-start-delay=60s",
                      "--queue-depth=200")
    never = threading.Event()
    try:
        pid = serving.proc.pid
        before = rss_bytes(pid)

        def silent():
            never.wait(60)
            yield work_request(1)
        raw = channel(serving.target).stream_unary(INVOKE)
        started = time.monotonic()
        calls = [raw.future(silent(), timeout=60) for _ in range(300)]
        wait_until(lambda: sum(c.done() for c in calls) == 100, 20, "100 refused")
        assert serving.state()["reading"] == 200
        assert codes_of([c for c in calls if c.done()], 1) == {"UNAVAILABLE": 100}
        timeout_s = limit("kMessageTimeoutSeconds")
        codes = codes_of(calls, timeout_s + 20)
        assert codes == {"DEADLINE_EXCEEDED": 200, "UNAVAILABLE": 100}, codes
        assert time.monotonic() - started < timeout_s + 15
        assert serving.state()["reading"] == 0
        assert rss_bytes(pid, "VmHWM") - before < 64 << 20
        wait_until(lambda: requests_by_code(serving) == dict(codes), 10, "each counted")
    finally:
        never.set()
        assert serving.stop() == 0


def timed_calls(invoke, spins_ms, timeout=30):
    """The calls sent at once, each on its own thread: per call its client
    latency in µs and its trailers as a dict, in the order of `spins_ms`."""
    results = [None] * len(spins_ms)

    def one(i):
        started = time.monotonic()
        _, call = invoke.with_call(work_request(spins_ms[i]), timeout=timeout)
        results[i] = ((time.monotonic() - started) * 1e6, dict(call.trailing_metadata()))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(spins_ms))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results), results
    return results


def waits_us(trailers):
    """(activator, queue-proxy) waits in µs from a call's trailers."""
    return int(trailers["knbench-activator-wait-us"]), int(trailers["knbench-queue-wait-us"])


def test_waits_in_trailers_cover_the_cold_start(tmp_path, channel):
    """CC 1, one pod at most, from zero with a 1 s start delay: three calls of
    200 ms wait in the activator, the first for the cold start, the others
    also for the calls ahead of them. Each call's latency is its waits plus
    its spin plus a little: the waits are the time the client lost."""
    serving = Serving(tmp_path, "--initial-scale=0", "--max-scale=1",
                      "--container-concurrency=1", "--pod-start-delay=1s")
    try:
        invoke = channel(serving.target).unary_unary(INVOKE)
        results = timed_calls(invoke, [200, 200, 200])
        by_wait = sorted((waits_us(t), latency) for latency, t in results)
        for (activator, queue), latency in by_wait:
            assert queue == 0, by_wait
            assert activator + queue <= latency, by_wait
            # The rest is the spin and the hops, not a wait left uncounted.
            assert 200_000 <= latency - activator <= 200_000 + 500_000, by_wait
        (first, _), _ = by_wait[0]
        assert first >= 1_000_000, by_wait  # the pod start delay, at least
        # The next ones waited, besides, for the 200 ms calls ahead of them.
        assert by_wait[1][0][0] >= first + 150_000, by_wait
        assert by_wait[2][0][0] >= by_wait[1][0][0] + 150_000, by_wait
    finally:
        assert serving.stop() == 0


def test_waits_in_trailers_at_a_full_pod_are_the_queue_proxys(tmp_path, channel):
    """CC 1, one pod, target burst capacity 0 (the activator leaves the path
    once the pod is ready): three calls of 300 ms at once wait at the pod's
    queue-proxy, about 0, 300 and 600 ms, and never in the activator."""
    serving = Serving(tmp_path, "--min-scale=1", "--max-scale=1", "--target-burst-capacity=0",
                      "--container-concurrency=1", "--pod-start-delay=0s")
    try:
        wait_until(lambda: serving.state()["ready"] == 1 and
                   not serving.state()["activator_in_path"], 20, "the pod, no activator")
        invoke = channel(serving.target).unary_unary(INVOKE)
        results = timed_calls(invoke, [300, 300, 300])
        waits = sorted(waits_us(t) for _, t in results)
        assert [a for a, _ in waits] == [0, 0, 0], waits
        queue = [q for _, q in waits]
        assert queue[0] < 100_000 and queue[1] >= 250_000 and queue[2] >= 550_000, waits
        for latency, trailers in results:
            assert sum(waits_us(trailers)) <= latency, results
    finally:
        assert serving.stop() == 0
