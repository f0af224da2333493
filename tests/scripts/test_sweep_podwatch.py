"""The pod watch (knbench_sweep.podwatch) on /state documents as local_serving writes
them, on a fake clock: a death is a warning naming the pod's log, a second one within the
kubelet's 10 minutes or a process that never gets ready stops the run with one line naming
the cause and the log; fixed pods that exited stop it at once."""
import subprocess

import pytest

from knbench_sweep import podwatch
from knbench_sweep.podwatch import BACKOFF_MEMORY_S, READY_LIMIT_S, PodsFailed, PodWatch
from knbench_sweep.procs import Child

POD = "worker-00001-deployment-abc12"


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def state(*pods):
    """/state with these pods: (name, phase, pid, restarts) each."""
    return {"requested": len(pods), "ready": sum(p[1] == "ready" for p in pods),
            "restarts": sum(p[3] for p in pods),
            "pods": [{"name": n, "phase": ph, "pid": pid, "grpc_port": 1, "metrics_port": 2,
                      "restarts": r} for n, ph, pid, r in pods]}


def failure(w, doc):
    """The one line the watch stops the run with on this /state."""
    with pytest.raises(PodsFailed) as e:
        w.observe(doc)
    return str(e.value)


@pytest.fixture
def watch(tmp_path):
    (tmp_path / f"{POD}.log").write_text("listening\nworker: unknown flag --bad-flag\n\n")
    clock = Clock()
    return PodWatch(str(tmp_path), clock), clock, str(tmp_path / f"{POD}.log")


def test_a_pod_that_died_once_is_a_warning_naming_its_log(watch, capsys):
    w, clock, log = watch
    w.observe(state((POD, "ready", 10, 0)))
    assert capsys.readouterr().err == ""
    w.observe(state((POD, "starting", 11, 1)))
    err = capsys.readouterr().err
    assert f"warning: pod {POD} died (restart 1); its log ends 'worker: unknown flag " \
           f"--bad-flag'; see {log}" in err
    w.observe(state((POD, "ready", 11, 1)))  # the same death is told once
    assert capsys.readouterr().err == ""


def test_a_second_death_within_the_backoff_memory_stops_the_run(watch):
    w, clock, log = watch
    w.observe(state((POD, "ready", 10, 1)))
    clock.t += BACKOFF_MEMORY_S - 1
    assert failure(w, state((POD, "pending", 0, 2))) == (
        f"pod {POD} keeps dying (restart 2, {BACKOFF_MEMORY_S - 1}s after the previous "
        f"death): its log ends 'worker: unknown flag --bad-flag'; see {log}")


def test_two_deaths_seen_at_once_are_a_crash_loop(watch):
    w, clock, log = watch
    with pytest.raises(PodsFailed, match=f"pod {POD} keeps dying .*see {log}$"):
        w.observe(state((POD, "pending", 0, 2)))


def test_deaths_further_apart_than_the_backoff_memory_do_not_stop_it(watch):
    w, clock, _ = watch
    w.observe(state((POD, "ready", 10, 1)))
    clock.t += BACKOFF_MEMORY_S + 1
    w.observe(state((POD, "ready", 11, 2)))  # no exception


def test_a_process_that_never_gets_ready_stops_the_run(watch):
    w, clock, log = watch
    w.observe(state((POD, "starting", 10, 0)))
    clock.t += READY_LIMIT_S - 1
    w.observe(state((POD, "starting", 10, 0)))
    clock.t += 1
    assert failure(w, state((POD, "starting", 10, 0))) == (
        f"pod {POD} not ready {READY_LIMIT_S}s after its process started (pid 10); its log "
        f"ends 'worker: unknown flag --bad-flag'; see {log}")


def test_readiness_is_timed_per_process_and_pending_is_not_starting(watch):
    w, clock, _ = watch
    w.observe(state((POD, "starting", 10, 0), ("other", "pending", 0, 0)))
    clock.t += READY_LIMIT_S - 1
    w.observe(state((POD, "ready", 10, 0), ("other", "pending", 0, 0)))
    clock.t += READY_LIMIT_S - 1
    # Ready in between: a new wait starts; a pod held pending (start delay, --max-pods)
    # has no process to wait on.
    w.observe(state((POD, "starting", 10, 0), ("other", "pending", 0, 0)))
    clock.t += READY_LIMIT_S - 1
    w.observe(state((POD, "starting", 10, 0), ("other", "pending", 0, 0)))


def test_pods_that_are_gone_are_forgotten_and_odd_documents_ignored(watch):
    w, clock, _ = watch
    w.observe(state((POD, "ready", 10, 1)))
    w.observe(state())
    assert w.restarts == {} and w.deaths == {}
    for odd in ({}, {"pods": None}, {"pods": [None, {"phase": "ready"}, 3]}):
        w.observe(odd)


def test_a_pod_without_a_log_is_named_with_where_its_log_would_be(tmp_path):
    w = PodWatch(str(tmp_path), Clock())
    assert failure(w, state(("p", "pending", 0, 3))).endswith(f"): see {tmp_path}/p.log")


def test_a_long_last_line_is_shortened(tmp_path):
    (tmp_path / "x.log").write_text("y" * 5000 + "\n")
    assert podwatch.last_line(str(tmp_path / "x.log")) == "y" * podwatch.LAST_LINE_CHARS + "..."


def test_fixed_pods_that_exited_stop_the_run(tmp_path):
    log = tmp_path / "worker-2.log"
    log.write_text("fake worker: out of memory\n")
    procs = [subprocess.Popen(["sleep", "30"]), subprocess.Popen(["sh", "-c", "exit 3"])]
    try:
        procs[1].wait(timeout=10)
        children = [Child("worker-1", procs[0], str(tmp_path / "worker-1.log"), 1),
                    Child("worker-2", procs[1], str(log), 1)]
        with pytest.raises(PodsFailed, match=r"^worker-2 exited \(exit 3\); its log ends "
                           f"'fake worker: out of memory'; see {log}$"):
            podwatch.check_exited(children)
        podwatch.check_exited(children[:1])  # alive: nothing
    finally:
        procs[0].kill()
        procs[0].wait()
