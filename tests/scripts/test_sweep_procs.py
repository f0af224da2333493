"""knbench_sweep.procs, the one process module: children in their own session with a
parent-death signal, one SIGTERM then SIGKILL, readiness waits that stop as soon as the
child died, short-lived children bounded in time, SIGINT/SIGTERM as an exception."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, alive
from knbench_sweep import procs

PY = sys.executable


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_child_has_its_own_session(tmp_path):
    kids = procs.Children()
    c = kids.spawn("sleeper", ["sleep", "30"], str(tmp_path / "log"))
    try:
        assert os.getsid(c.pid) == c.pid
        assert os.getpgid(c.pid) != os.getpgid(0)
    finally:
        kids.stop_all()
    assert not alive(c.pid)


def test_a_child_stops_when_its_parent_is_killed(tmp_path):
    # A parent that starts a child through procs, says its PID, then waits.
    parent = subprocess.Popen(
        [PY, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
                   "from knbench_sweep import procs;"
                   "c = procs.Children().spawn('s', ['sleep', '60'], sys.argv[2]);"
                   "print(c.pid, flush=True); time.sleep(60)",
         os.path.join(ROOT, "tools"), str(tmp_path / "log")], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.kill()  # SIGKILL: no handler, no cleanup runs
    parent.wait()
    assert wait_gone(child), "the child outlived its killed parent"


def test_stop_is_one_sigterm_then_sigkill_after_the_grace(tmp_path):
    kids = procs.Children()
    polite = kids.spawn("polite", ["sleep", "30"], str(tmp_path / "a"))
    t0 = time.monotonic()
    polite.stop(10)
    assert time.monotonic() - t0 < 5 and polite.process.returncode == -signal.SIGTERM
    stubborn = kids.spawn("stubborn", [PY, "-c", "import signal, time;"
                                       "signal.signal(signal.SIGTERM, lambda *a: print('TERM', "
                                       "flush=True)); print('up', flush=True); time.sleep(30)"],
                          str(tmp_path / "b"))
    procs.wait_for(lambda: "up" in (tmp_path / "b").read_text(), 10, "the child's handler")
    t0 = time.monotonic()
    stubborn.stop(0.5)
    assert time.monotonic() - t0 >= 0.5
    assert stubborn.process.returncode == -signal.SIGKILL
    assert (tmp_path / "b").read_text().count("TERM") == 1  # exactly one SIGTERM


def test_stop_all_stops_newest_first(tmp_path):
    order = tmp_path / "order"
    kids = procs.Children()
    for name in ("first", "second", "third"):
        kids.spawn(name, [PY, "-c", "import signal, sys, time;"
                          "signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1], 'a')"
                          ".write(sys.argv[2] + ' '), sys.exit(0))); print('up', flush=True);"
                          " time.sleep(30)", str(order), name], str(tmp_path / name))
        procs.wait_for(lambda: "up" in (tmp_path / name).read_text(), 10, name)
    kids.stop_all()
    assert order.read_text().split() == ["third", "second", "first"]
    assert kids.children == []


def test_wait_ready_gives_up_at_once_when_the_child_died(tmp_path, capsys):
    kids = procs.Children()
    c = kids.spawn("doomed", [PY, "-c", "print('cannot bind 127.0.0.1:1'); raise SystemExit(1)"],
                   str(tmp_path / "log"))
    t0 = time.monotonic()
    with pytest.raises(procs.StartError, match="doomed exited during start-up"):
        c.wait_ready(lambda: False, 60)
    assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert "doomed exited during start-up" in err and "cannot bind 127.0.0.1:1" in err


def test_wait_ready_times_out_and_returns_once_ready(tmp_path):
    kids = procs.Children()
    c = kids.spawn("slow", ["sleep", "30"], str(tmp_path / "log"))
    try:
        with pytest.raises(procs.StartError, match="slow not ready after 0.3s"):
            c.wait_ready(lambda: False, 0.3)
        flag = tmp_path / "ready"
        flag.touch()
        c.wait_ready(flag.exists, 5)
    finally:
        kids.stop_all()


def test_run_bounds_a_short_lived_child(tmp_path):
    r = procs.run([PY, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (r.returncode, r.stdout.strip(), r.stderr.strip()) == (0, "out", "err")
    log = tmp_path / "log"
    assert procs.run([PY, "-c", "print('to the log')"], log_path=str(log)).returncode == 0
    assert log.read_text() == "to the log\n"
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["sleep", "30"], timeout=0.3)
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_become_an_exception_with_the_shell_exit_status(sig, status):
    code = ("import os, signal, sys, time; sys.path.insert(0, sys.argv[1]);"
            "from knbench_sweep import procs;"
            "procs.on_signals(procs.raise_interrupted);\n"
            "try:\n  os.kill(os.getpid(), int(sys.argv[2])); time.sleep(10)\n"
            "except procs.Interrupted as e:\n  sys.exit(e.exit_status)\n")
    r = subprocess.run([PY, "-c", code, os.path.join(ROOT, "tools"), str(int(sig))], timeout=30)
    assert r.returncode == status
