"""local_serving's pods and files end to end (issue 21): the real binary and
real worker processes on loopback, each test bounded in time.

Run by ctest with LOCAL_SERVING_BIN and WORKER_BIN set.
"""
import os
import signal
import time

from serving_proc import Serving, pid_alive, wait_until  # noqa: E402

WORKER = os.environ["WORKER_BIN"]


def ready_pods(serving, n, timeout=30):
    wait_until(lambda: serving.state()["ready"] == n, timeout, f"{n} ready pods")
    return serving.state()["pods"]


def test_idle_pods_stop_together_well_under_a_second_each(tmp_path):
    # Ten idle pods used to stop one after another, 5 s each (50 s): each
    # worker waited for local serving to close its connection.
    serving = Serving(tmp_path, "--min-scale=10", "--initial-scale=10", "--max-scale=10",
                      "--pod-start-delay=0s")
    pids = [p["pid"] for p in ready_pods(serving, 10)]
    started = time.monotonic()
    assert serving.stop(timeout=60) == 0
    took = time.monotonic() - started
    assert took < 3, f"10 idle pods took {took:.1f} s to stop"
    assert not any(pid_alive(p) for p in pids)
    assert serving.text().count("stopped (exit 0)") == 10
