"""local_serving's pods and files end to end (issue 21): the real binary and
real worker processes on loopback, each test bounded in time.

Run by ctest with LOCAL_SERVING_BIN and WORKER_BIN set.
"""
import os
import re
import shutil
import signal
import time

from serving_proc import Serving, pid_alive, wait_until  # noqa: E402

WORKER = os.environ["WORKER_BIN"]


def ready_pods(serving, n, timeout=30):
    wait_until(lambda: serving.state()["ready"] == n, timeout, f"{n} ready pods")
    return serving.state()["pods"]


def test_idle_pods_stop_together_well_under_a_second_each(tmp_path):
    # Ten idle pods used to stop one after another (20 s here): each worker
    # waited for local serving to close its connection to it.
    serving = Serving(tmp_path, "--min-scale=10", "--initial-scale=10", "--max-scale=10",
                      "--pod-start-delay=0s")
    try:
        pids = [p["pid"] for p in ready_pods(serving, 10)]
        started = time.monotonic()
        assert serving.stop(timeout=60) == 0
        took = time.monotonic() - started
        assert took < 3, f"10 idle pods took {took:.1f} s to stop"
        assert not any(pid_alive(p) for p in pids)
        assert serving.text().count("stopped (exit 0)") == 10
    finally:
        serving.stop(signal.SIGKILL)


def group_members(pgid):
    """The live processes of process group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def wrapper(tmp_path):
    """A worker started by a shell script without exec: the pod's process
    is the shell, the worker its child."""
    script = tmp_path / "wrapped-worker.sh"
    script.write_text(f"#!/bin/sh\n{WORKER} \"$@\"\necho wrapper done\n")
    script.chmod(0o755)
    return str(script)


def wrapped_pods(serving, n):
    """Each ready pod's process group, once its worker runs under the shell."""
    pods = ready_pods(serving, n)
    wait_until(lambda: all(len(group_members(p["pid"])) == 2 for p in pods), 10,
               "each pod's shell and worker")
    return {p["name"]: p["pid"] for p in pods}


def kill_leftovers(serving, pids):
    """After a failed test: nothing it started keeps running."""
    serving.stop(signal.SIGKILL)
    for pid in pids:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_wrapper_scripts_worker_leaves_with_its_pod(tmp_path):
    # Scale-down (2 -> min-scale 1 with no load) and then shutdown: the
    # worker under the shell goes too, drained (exit 0), not orphaned.
    serving = Serving(tmp_path, "--initial-scale=2", "--min-scale=1", "--window=6s",
                      "--pod-start-delay=0s", worker=wrapper(tmp_path))
    workers = {}
    try:
        groups = wrapped_pods(serving, 2)
        workers = {name: group_members(pgid) for name, pgid in groups.items()}
        wait_until(lambda: len(serving.state()["pods"]) == 1, 30, "the scale-down to 1")
        kept = serving.state()["pods"][0]["name"]
        removed = next(name for name in groups if name != kept)
        wait_until(lambda: not any(pid_alive(p) for p in workers[removed]), 10,
                   "the removed pod's worker to exit")
        assert serving.stop(timeout=30) == 0
        assert not any(pid_alive(p) for p in workers[kept])
        for name in groups:
            with open(os.path.join(serving.tmp, f"{name}.log")) as f:
                assert "worker: stopped" in f.read(), name
    finally:
        kill_leftovers(serving, [p for pids in workers.values() for p in pids])


def test_after_sigkill_of_local_serving_no_process_of_a_wrapped_pod_survives(tmp_path):
    serving = Serving(tmp_path, "--initial-scale=2", "--min-scale=2",
                      "--pod-start-delay=0s", worker=wrapper(tmp_path))
    members = []
    try:
        groups = wrapped_pods(serving, 2)
        members = [p for pgid in groups.values() for p in group_members(pgid)]
        assert len(members) == 4
        serving.stop(signal.SIGKILL)
        wait_until(lambda: not any(pid_alive(p) for p in members), 10,
                   "every process of every pod to end")
    finally:
        kill_leftovers(serving, members)


def test_a_write_error_on_an_output_file_is_one_line_then_exit_one(tmp_path):
    serving = Serving(tmp_path, "--stats-out=/dev/full", "--decisions-out=/dev/full",
                      "--initial-scale=1", "--pod-start-delay=0s")
    try:
        errors = lambda: [line for line in serving.text().splitlines()  # noqa: E731
                          if "error:" in line]
        # Said when it happens: the first second's row, the first tick's.
        wait_until(lambda: len(errors()) == 2, 10, "an error line per file")
        assert any("--stats-out /dev/full" in e and "No space left on device" in e
                   for e in errors()), errors()
        assert any("--decisions-out /dev/full" in e for e in errors()), errors()
        # Later rows and the close at exit fail too, without more lines.
        assert serving.stop(timeout=30) == 1
        assert len(errors()) == 2, errors()
    finally:
        serving.stop(signal.SIGKILL)


def test_a_failed_rewrite_of_the_sd_file_is_one_line_then_exit_one(tmp_path):
    sd_dir = tmp_path / "sd"
    sd_dir.mkdir()
    # The pod starts 3 s after the first (good) write; its rewrite fails.
    serving = Serving(tmp_path, f"--prometheus-sd-file={sd_dir}/pods.json",
                      "--initial-scale=2", "--pod-start-delay=3s")
    try:
        shutil.rmtree(sd_dir)
        errors = lambda: [line for line in serving.text().splitlines()  # noqa: E731
                          if "error:" in line]
        ready_pods(serving, 2)
        assert len(errors()) == 1, errors()
        assert "--prometheus-sd-file: cannot write" in errors()[0]
        assert serving.stop(timeout=30) == 1
        assert len(errors()) == 1, errors()
    finally:
        serving.stop(signal.SIGKILL)


LOGS_IN = re.compile(r"\(logs in ([^)]+)\)")


def test_without_log_dir_the_logs_directory_it_made_is_removed_at_exit(tmp_path):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    serving = Serving(tmp_path, "--initial-scale=1", "--pod-start-delay=0s", log_dir=None,
                      env={**os.environ, "TMPDIR": str(tmpdir)})
    try:
        pod = ready_pods(serving, 1)[0]["name"]
        logs = LOGS_IN.search(serving.text()).group(1)
        assert os.path.dirname(logs) == str(tmpdir)
        assert os.path.exists(os.path.join(logs, f"{pod}.log"))
        assert serving.stop() == 0
        assert os.listdir(tmpdir) == []
        assert f"removed the pods' logs in {logs}" in serving.text()
    finally:
        serving.stop(signal.SIGKILL)


def test_a_log_dir_that_does_not_exist_is_made_and_kept(tmp_path):
    logs = tmp_path / "runs" / "1" / "pods"
    serving = Serving(tmp_path, "--initial-scale=1", "--pod-start-delay=0s",
                      log_dir=str(logs))
    try:
        pod = ready_pods(serving, 1)[0]["name"]
        assert serving.stop() == 0
        with open(logs / f"{pod}.log") as f:
            assert "worker: stopped" in f.read()
    finally:
        serving.stop(signal.SIGKILL)


def test_a_pod_death_names_its_log(tmp_path):
    crashing = tmp_path / "crashing.sh"
    crashing.write_text("#!/bin/sh\necho 'worker: cannot start' >&2\nexit 3\n")
    crashing.chmod(0o755)
    serving = Serving(tmp_path, "--initial-scale=1", "--pod-start-delay=0s",
                      worker=str(crashing))
    try:
        wait_until(lambda: " died (" in serving.text(), 10, "the pod's death")
        died = next(line for line in serving.text().splitlines() if " died (" in line)
        pod = died.split("pod ", 1)[1].split(" ", 1)[0]
        assert f"its log: {tmp_path}/{pod}.log" in died, died
        assert "exit 3" in died, died
    finally:
        assert serving.stop() == 0
