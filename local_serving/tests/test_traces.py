"""local_serving's spans end to end: the real load driver tracing every request,
local_serving (a cold start, containerConcurrency 1) and its worker pods, all exporting
to one OTLP/HTTP receiver (tracing/tests/otlp_receiver.py). Every request's spans chain
driver -> activator -> queue-proxy -> worker -> spin in one trace, each inside its parent
in time; the first requests' activator spans cover the cold start. A few seconds of load.
Run by ctest with LOCAL_SERVING_BIN, WORKER_BIN and DRIVER_BIN set."""
import os
import subprocess
import sys

import grpc
import pytest

from serving_proc import ROOT, Serving, read_csv

sys.path.insert(0, os.path.join(ROOT, "tracing", "tests"))
from otlp_receiver import Receiver, attribute  # noqa: E402

# Pods take 1 s to start: the first requests wait that long in the activator.
START_DELAY_NS = 1_000_000_000
# Clock granularity between the processes' span times (all from the same real clock).
SLACK_NS = 200_000
RATE, SECONDS, SPIN_MS = 10, 2, 30
METHOD = "/load_worker.LoadWorker/InvokeWorker"
WORK_1MS = b"\x08\x01"  # WorkRequest{duration_ms: 1}
# Contexts local_serving does not trace (its own --trace-sample-rate is 0): a malformed
# one is ignored, never an error; an unsampled one is the caller's decision.
UNTRACED = ["00-not-a-trace-context", "00-" + "1" * 32 + "-" + "2" * 16 + "-00"]


def within(child, parent):
    return (int(parent["startTimeUnixNano"]) - SLACK_NS <= int(child["startTimeUnixNano"])
            <= int(child["endTimeUnixNano"]) <= int(parent["endTimeUnixNano"]) + SLACK_NS)


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory):
    receiver = Receiver()
    tmp = tmp_path_factory.mktemp("traces")
    serving = Serving(tmp, "--container-concurrency=1", "--initial-scale=0",
                      "--max-scale=2", "--pod-start-delay=1s", "--window=6s",
                      f"--otlp-endpoint={receiver.url}",
                      f"--worker-arg=--otlp-endpoint={receiver.url}")
    try:
        out = os.path.join(str(tmp), "run.csv")
        subprocess.run([os.environ["DRIVER_BIN"], f"--target={serving.target}",
                        f"--spin-ms={SPIN_MS}", f"--rps={RATE}", f"--duration={SECONDS}s",
                        f"--out={out}", "--bind=127.0.0.1", "--metrics-port=0",
                        "--timeout=30s", "--progress-interval=1h",
                        "--trace-sample-rate=1", f"--otlp-endpoint={receiver.url}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
        with grpc.insecure_channel(serving.target) as channel:
            for value in UNTRACED:
                channel.unary_unary(METHOD)(WORK_1MS, metadata=[("traceparent", value)],
                                            timeout=10)
        # Each process flushes its spans as it stops; local_serving stops its pods.
        assert serving.stop() == 0, serving.text()
        spans, problems = receiver.snapshot()
        yield {"rows": read_csv(out), "spans": spans, "problems": problems}
    finally:
        serving.stop()
        receiver.close()


def chains(spans):
    """Per client span (by knbench.seq): its trace's spans by role."""
    by_parent = {}
    for service, s in spans:
        by_parent.setdefault(s.get("parentSpanId"), []).append((service, s))

    def children(span, service, name=None):
        return [s for svc, s in by_parent.get(span["spanId"], [])
                if svc == service and (name is None or s["name"] == name)]

    out = {}
    for service, client in spans:
        if service != "load_driver":
            continue
        chain = {"client": client}
        for role, parent, svc, name in [("activator", "client", "local-serving", "activator"),
                                        ("wait", "activator", "local-serving", "activator wait"),
                                        ("queue_proxy", "activator", "local-serving",
                                         "queue-proxy"),
                                        ("worker", "queue_proxy", "worker", None),
                                        ("spin", "worker", "worker", "spin")]:
            found = children(chain[parent], svc, name) if parent in chain else []
            if len(found) == 1:
                chain[role] = found[0]
        out[int(attribute(client, "knbench.seq"))] = chain
    return out


def test_every_request_chains_driver_activator_queue_proxy_worker_spin(traced_run):
    rows, spans = traced_run["rows"], traced_run["spans"]
    assert traced_run["problems"] == []
    assert len(rows) == RATE * SECONDS
    assert {r["status"] for r in rows} == {"success"}
    by_seq = chains(spans)
    assert sorted(by_seq) == sorted(int(r["seq"]) for r in rows)
    roles = ["client", "activator", "wait", "queue_proxy", "worker", "spin"]
    for seq, chain in by_seq.items():
        assert sorted(chain) == sorted(roles), (seq, sorted(chain))
        assert len({s["traceId"] for s in chain.values()}) == 1, seq
        for child, parent in [("activator", "client"), ("wait", "activator"),
                              ("queue_proxy", "activator"), ("worker", "queue_proxy"),
                              ("spin", "worker")]:
            assert within(chain[child], chain[parent]), (seq, child, parent, chain)
        # The queue-proxy takes the call where the activator's wait ends.
        assert abs(int(chain["queue_proxy"]["startTimeUnixNano"]) -
                   int(chain["wait"]["endTimeUnixNano"])) <= SLACK_NS, seq
        qp = chain["queue_proxy"]
        assert attribute(qp, "k8s.pod.name"), seq
        assert attribute(qp, "rpc.method") == "InvokeWorker"
        assert attribute(qp, "rpc.grpc.status_code") == "0"
    # Only these: no span outside a driver's trace (none for the UNTRACED calls).
    assert len(spans) == len(roles) * len(rows)


def test_the_spans_carry_the_waits_the_csv_has(traced_run):
    by_seq = chains(traced_run["spans"])
    for r in traced_run["rows"]:
        chain = by_seq[int(r["seq"])]
        assert int(attribute(chain["activator"], "knbench.activator_wait_us")) == \
            int(r["activator_wait_us"]), r
        assert int(attribute(chain["queue_proxy"], "knbench.queue_wait_us")) == \
            int(r["queue_wait_us"]), r
        # The breakdown's parts never add up to more than the whole.
        parts = int(r["activator_wait_us"]) + int(r["queue_wait_us"]) + \
            int(r["server_spin_us"])
        assert parts <= int(r["latency_us"]), r


def test_the_first_requests_activator_spans_cover_the_cold_start(traced_run):
    by_seq = chains(traced_run["spans"])
    first = by_seq[1]
    waited = int(first["wait"]["endTimeUnixNano"]) - int(first["wait"]["startTimeUnixNano"])
    assert waited >= START_DELAY_NS, waited
    assert int(attribute(first["activator"], "knbench.activator_wait_us")) * 1000 >= \
        START_DELAY_NS - SLACK_NS
    # The pod's work starts only once the cold start is over.
    assert int(first["worker"]["startTimeUnixNano"]) >= \
        int(first["activator"]["startTimeUnixNano"]) + START_DELAY_NS
