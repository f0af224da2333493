"""local_serving end to end: the real binary, real worker processes as pods,
the real load driver, on loopback, bounded in time.

One lifecycle run (from zero, a step into panic, back to zero) is shared by
the tests that check each of its phases; the others start their own.
Run by ctest with LOCAL_SERVING_BIN, WORKER_BIN, DRIVER_BIN and KPA_MODEL_BIN
set (and PROMETHEUS for the Prometheus test, found on PATH otherwise).
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from serving_proc import (ROOT, Prometheus, Serving, assert_replay_is_live,  # noqa: E402
                          drive, free_port, pid_alive, read_csv, wait_until)
sys.path.insert(0, os.path.join(ROOT, "deploy", "tests"))
import dashboard_exprs  # noqa: E402

LOCAL_SERVING = os.environ["LOCAL_SERVING_BIN"]
WORKER = os.environ["WORKER_BIN"]
DRIVER = os.environ["DRIVER_BIN"]
MANIFEST = os.path.join(ROOT, "deploy", "base", "worker", "knative-service.yaml")


# The lifecycle: window 6 s (panic window 1 s), grace 6 s, target 2 in flight
# per pod, initial scale 0, pods take 1 s to start, at most 4. Load: 5 rps of
# 200 ms spins (1 in flight) for 4 s, then 40 rps (8 in flight) for 6 s.
LIFECYCLE_SETTINGS = ["--window=6s", "--scale-to-zero-grace-period=6s", "--target=2",
                      "--target-utilization-percentage=100", "--initial-scale=0",
                      "--max-scale=4", "--pod-start-delay=1s"]
STEP_AT_S = 4


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    serving = Serving(tmp_path_factory.mktemp("lifecycle"), *LIFECYCLE_SETTINGS)
    try:
        # Wait for the first tick (at zero, nothing to do) before the load.
        wait_until(lambda: len(read_csv(serving.decisions)) >= 1, 10, "first tick")
        started = time.monotonic()
        rows = drive(serving, f"5@{STEP_AT_S}s,40@6s", 200)
        # Then idle until the revision is back at zero.
        wait_until(lambda: serving.state()["requested"] == 0 and
                   serving.state()["ready"] == 0, 40, "scale to zero")
        serving.stop()
        yield {"serving": serving, "rows": rows, "decisions": read_csv(serving.decisions),
               "load_started_s": started}
    finally:
        serving.stop(signal.SIGKILL)


def test_scale_from_zero_every_call_succeeds_after_a_cold_start(lifecycle):
    rows = lifecycle["rows"]
    assert len(rows) == 5 * STEP_AT_S + 40 * 6
    assert {r["status"] for r in rows} == {"success"}, [r for r in rows
                                                         if r["status"] != "success"][:3]
    first = min(rows, key=lambda r: int(r["seq"]))
    # Waited in the activator for the 1 s pod start delay plus the worker's
    # own start, then spun 200 ms.
    assert int(first["intended_latency_us"]) >= 1_200_000, first
    pokes = [d for d in lifecycle["decisions"] if d["poke"] == "1"]
    assert len(pokes) == 1, pokes
    assert int(pokes[0]["desired_pods"]) == 1
    assert int(pokes[0]["ready_pods"]) == 0


def test_step_enters_panic_and_adds_pods_within_a_few_ticks(lifecycle):
    decisions = [d for d in lifecycle["decisions"] if d["poke"] == "0"]
    # The series' second 0 is local_serving's start; the load began later.
    first_load_s = min(int(d["time_s"]) for d in lifecycle["decisions"] if d["poke"] == "1")
    step_s = first_load_s + STEP_AT_S
    panic = [d for d in decisions if d["panic_mode"] == "1"]
    assert panic, "never panicked"
    assert int(panic[0]["time_s"]) <= step_s + 6, (panic[0], step_s)
    assert max(int(d["desired_pods"]) for d in panic) >= 3
    assert max(int(d["ready_pods"]) for d in decisions) >= 3


def test_scale_down_over_the_window_then_to_zero_by_the_fast_path(lifecycle):
    decisions = [d for d in lifecycle["decisions"] if d["poke"] == "0"]
    peak = max(range(len(decisions)), key=lambda i: int(decisions[i]["desired_pods"]))
    after = decisions[peak:]
    # Down step by step, not at once (max-scale-down-rate 2 per tick).
    zero = next(i for i, d in enumerate(after) if d["desired_pods"] == "0")
    assert zero >= 2, after[:zero + 1]
    # The activator was in the path all along (EBC < 0 with TBC 211), longer
    # than the 6 s grace: the pods go when the decider first wants zero, not
    # a grace period later.
    assert all(d["activator_in_path"] == "1" for d in decisions)
    assert after[zero]["decider_pods"] == "0"
    assert after[zero - 1]["decider_pods"] != "0"
    assert "stopped (exit 0)" in lifecycle["serving"].text()


def test_live_decisions_equal_the_offline_replay(lifecycle):
    assert_replay_is_live(lifecycle["serving"], *LIFECYCLE_SETTINGS)


def test_container_concurrency_queueing_goes_away_as_pods_are_added(tmp_path):
    # CC 1: a pod takes one call at a time. 10 rps of 200 ms need 2 pods;
    # one is there at the start, so calls queue in the activator until the
    # autoscaler adds pods, then wait no more.
    serving = Serving(tmp_path, "--container-concurrency=1", "--min-scale=1",
                      "--window=6s", "--pod-start-delay=1s", "--max-scale=6")
    try:
        wait_until(lambda: serving.state()["ready"] == 1, 20, "the first pod")
        rows = drive(serving, "10@10s", 200)
        assert {r["status"] for r in rows} == {"success"}
        rows.sort(key=lambda r: int(r["seq"]))
        # The waits the router reports, not the latency: a 200 ms spin on
        # the CPU clock takes longer when the machine is busy (an ASan run
        # beside builds), and that is no queueing.
        waits_ms = [(int(r["activator_wait_us"]) + int(r["queue_wait_us"])) / 1000
                    for r in rows]
        early, late = waits_ms[:20], waits_ms[-20:]
        assert max(early) > 300, early  # waited for a free pod
        assert max(late) < 200, late    # enough pods: no wait to speak of
        assert serving.state()["ready"] >= 2
    finally:
        assert serving.stop() == 0


def test_a_killed_pod_is_restarted_and_only_its_calls_fail(tmp_path):
    serving = Serving(tmp_path, "--min-scale=2", "--initial-scale=2", "--max-scale=2",
                      "--pod-start-delay=0s")
    try:
        wait_until(lambda: serving.state()["ready"] == 2, 20, "two ready pods")
        victim = serving.state()["pods"][0]
        out = os.path.join(serving.tmp, "kill.csv")
        driver = subprocess.Popen(
            [DRIVER, f"--target={serving.target}", "--spin-ms=1500", "--schedule=4@6s",
             f"--out={out}", f"--summary={out}.json", "--bind=127.0.0.1", "--metrics-port=0",
             "--progress-interval=1h"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill it while it has calls in flight.
        wait_until(lambda: os.path.exists(out) and serving.state()["inflight"] >= 4, 20,
                   "calls in flight")
        os.kill(victim["pid"], signal.SIGKILL)
        assert driver.wait(timeout=60) == 0
        rows = read_csv(out)
        failed = [r for r in rows if r["status"] != "success"]
        assert 1 <= len(failed) <= 6, failed
        assert {r["grpc_code"] for r in failed} == {"UNAVAILABLE"}
        assert {r["pod"] for r in rows if r["status"] == "success"} >= {victim["name"]}
        wait_until(lambda: serving.state()["ready"] == 2, 20, "the restarted pod")
        pods = {p["name"]: p for p in serving.state()["pods"]}
        assert pods[victim["name"]]["restarts"] == 1
        assert pods[victim["name"]]["pid"] != victim["pid"]
        assert serving.metric("local_serving_pod_restarts_total") == 1
    finally:
        assert serving.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_pod_outlives_local_serving(tmp_path, sig):
    serving = Serving(tmp_path, "--min-scale=2", "--initial-scale=2", "--pod-start-delay=0s")
    wait_until(lambda: serving.state()["ready"] == 2, 20, "two ready pods")
    pids = [p["pid"] for p in serving.state()["pods"]]
    assert all(pid_alive(p) for p in pids)
    code = serving.stop(sig)
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    wait_until(lambda: not any(pid_alive(p) for p in pids), 10, "every pod to exit")
    if sig == signal.SIGTERM:
        assert serving.text().count("stopped (exit 0)") == 2
        with open(serving.sd_file) as f:
            assert json.load(f) == []


def test_manifest_settings_and_otel_names(tmp_path):
    serving = Serving(tmp_path, f"--from-manifest={MANIFEST}", "--metric-names=otel",
                      "--pod-start-delay=0s")
    try:
        wait_until(lambda: serving.state()["ready"] == 1, 20, "the initial pod")
        # target 10 at the default 70 % utilisation: 7 per pod.
        wait_until(lambda: serving.metric("kn_revision_concurrency_target") == 7.0, 10,
                   "a decision")
        text = serving.get("/metrics")
        assert 'kn_revision_pods_count{k8s_namespace_name="default",' in text
        assert 'kn_service_name="worker"' in text
        assert "autoscaler_actual_pods" not in text
        with open(serving.sd_file) as f:
            targets = json.load(f)
        assert [t["labels"]["pod"] for t in targets] == \
            [p["name"] for p in serving.state()["pods"]]
    finally:
        assert serving.stop() == 0


def run_bad(*args):
    return subprocess.run([LOCAL_SERVING, "--listen=127.0.0.1:0", "--metrics-port=0",
                           *args], capture_output=True, text=True, timeout=30)


def test_bad_input_one_line_and_exit_status(tmp_path):
    missing = run_bad("--worker=/nonexistent/worker")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "--worker: /nonexistent/worker is not an executable file" in missing.stderr

    bad_manifest = tmp_path / "bad.yaml"
    bad_manifest.write_text("apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n"
                            "  template:\n    metadata:\n      annotations:\n"
                            "        - autoscaling.knative.dev/target=10\n")
    r = run_bad(f"--from-manifest={bad_manifest}", f"--worker={WORKER}")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "annotations is not a map" in r.stderr

    r = run_bad("--window=3s", f"--worker={WORKER}")
    assert r.returncode == 2 and "window" in r.stderr

    # A port someone holds, the gRPC one or the metrics one: one line, exit 1
    # (as every binary of the kit).
    for which in ("listen", "metrics"):
        busy = free_port()
        ports = {"listen": f"--listen=127.0.0.1:{busy if which == 'listen' else 0}",
                 "metrics": f"--metrics-port={busy if which == 'metrics' else 0}"}
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", busy))
            s.listen()
            r = subprocess.run([LOCAL_SERVING, *ports.values(),
                                f"--worker={WORKER}", f"--log-dir={tmp_path}"],
                               capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, (which, r.stderr)
        assert r.stderr.strip().count("\n") == 0, (which, r.stderr)
        assert str(busy) in r.stderr and "already in use" in r.stderr, (which, r.stderr)


def test_a_worker_that_never_gets_ready_is_reported_not_ready(tmp_path):
    never = tmp_path / "never-ready.sh"
    never.write_text("#!/bin/sh\nexec sleep 600\n")
    never.chmod(0o755)
    serving = Serving(tmp_path, "--pod-start-delay=0s", worker=str(never))
    try:
        wait_until(lambda: serving.state()["not_ready"] == 1, 10, "a not-ready pod")
        assert serving.state()["ready"] == 0
        wait_until(lambda: serving.metric("autoscaler_not_ready_pods") == 1, 5,
                   "the not-ready gauge")
        assert serving.metric("autoscaler_actual_pods") == 0
    finally:
        assert serving.stop() == 0


def knative_branches():
    """The dashboard's autoscaler expressions, each `old or new` split in two:
    (names, expression) for Knative <= 1.18 and >= 1.19 metric names."""
    with open(dashboard_exprs.DEFAULT_DASHBOARD) as f:
        dashboard = json.load(f)
    variables = dashboard_exprs.template_defaults(dashboard)
    variables.update({"__rate_interval": "1m", "__interval": "1m", "__range": "1m"})
    out = []
    for raw in dashboard_exprs.dashboard_exprs(dashboard):
        for part in dashboard_exprs.split_top_level_or(
                dashboard_exprs.substitute(raw, variables)):
            names = dashboard_exprs.metric_names(part)
            if names and all(n.startswith("autoscaler_") for n in names):
                out.append(("opencensus", part))
            elif names and all(n.startswith("kn_revision_") for n in names):
                out.append(("otel", part))
    return out


def test_dashboard_autoscaler_queries_answer_in_both_generations(tmp_path):
    """A real Prometheus scrapes two local_serving instances, one per metric
    generation, and their pods through file_sd: every autoscaler expression
    of the Grafana dashboard returns data for its generation."""
    branches = knative_branches()
    assert {g for g, _ in branches} == {"opencensus", "otel"}, branches
    old = Serving(tmp_path / "opencensus", "--pod-start-delay=0s")
    new = Serving(tmp_path / "otel", "--metric-names=otel", "--pod-start-delay=0s")
    prom = Prometheus(tmp_path, f"""  - job_name: local_serving
    static_configs:
      - targets: ['{old.metrics_url[7:]}', '{new.metrics_url[7:]}']
  - job_name: worker
    file_sd_configs:
      - files: ['{old.sd_file}', '{new.sd_file}']
        refresh_interval: 1s
""")
    try:
        for serving in (old, new):
            wait_until(lambda: serving.state()["ready"] == 1, 20, "the initial pod")
            drive(serving, "20@2s", 10, name="warm")

        def missing():
            return [(g, e) for g, e in branches if not prom.query(e)]
        try:
            wait_until(lambda: not missing(), 40, "every autoscaler expression")
        except AssertionError:
            raise AssertionError(f"no data for: {missing()}")
        # The pods' worker metrics arrive through file_sd with a pod label
        # (Prometheus applies discovered targets every 5 s).
        want = {p["name"] for s in (old, new) for p in s.state()["pods"]}

        def scraped_pods():
            return {s["metric"]["pod"] for s in prom.query('up{job="worker"} == 1')}
        wait_until(lambda: scraped_pods() == want, 30, "the pods scraped through file_sd")
    finally:
        prom.stop()
        assert old.stop() == 0
        assert new.stop() == 0
