"""Every process the sweep starts, and how it ends.

A child runs in a session of its own, so a terminal's Ctrl-C reaches only the sweep,
which then stops each child with ONE SIGTERM (our binaries take a second signal as "exit
now, write nothing", which would lose the interrupted run) and SIGKILL after a grace.
Each child also has a parent-death signal (prctl PR_SET_PDEATHSIG): if the sweep dies,
even by SIGKILL, the kernel sends the child SIGTERM. The kernel ties that signal to the
thread that forked the child, so long-lived children are started from the main thread
only.

SIGINT and SIGTERM of the sweep become an Interrupted exception in the main thread, so
that the code unwinding it records the run in progress and stops every child.
"""

import ctypes
import os
import signal
import subprocess
import time
from typing import Callable, Dict, List, Optional, Sequence

from .console import log, tail

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class Interrupted(Exception):
    """The sweep got SIGINT or SIGTERM."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM


class StartError(Exception):
    """A child died or did not get ready during start-up (its log's tail was shown)."""


def on_signals(handler: Callable[[int], None]) -> None:
    """Route SIGINT and SIGTERM to handler(signum)."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda signum, _frame: handler(signum))


def raise_interrupted(signum: int) -> None:
    raise Interrupted(signum)


def default_signals() -> None:
    """While stopping: a second Ctrl-C ends the sweep at once (the parent-death signals
    still stop the children)."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)


def _child_setup(parent: int) -> Callable[[], None]:
    def setup() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)
    return setup


def popen(argv: Sequence[str], stdout, env: Optional[Dict[str, str]] = None,
          stderr=subprocess.STDOUT) -> subprocess.Popen:
    """Start argv in its own session with a parent-death signal."""
    return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                            env=env, start_new_session=True,
                            preexec_fn=_child_setup(os.getpid()))


def run(argv: Sequence[str], log_path: Optional[str] = None, timeout: Optional[float] = None,
        env: Optional[Dict[str, str]] = None, capture: bool = True
        ) -> subprocess.CompletedProcess:
    """A child to completion. Output goes to log_path (stdout and stderr), is returned, or
    (capture=False) goes where ours goes. On timeout (or an exception, e.g. Interrupted)
    the child gets SIGTERM, then SIGKILL, before this returns or raises."""
    pipe = subprocess.PIPE if capture else None
    out = open(log_path, "wb") if log_path else pipe
    try:
        with popen(argv, out, env, stderr=subprocess.STDOUT if log_path else pipe) as p:
            try:
                stdout, stderr = p.communicate(timeout=timeout)
            except BaseException:
                _terminate(p, 5.0)
                raise
            return subprocess.CompletedProcess(
                p.args, p.returncode, (stdout or b"").decode(errors="replace"),
                (stderr or b"").decode(errors="replace"))
    finally:
        if log_path:
            out.close()


def _terminate(p: subprocess.Popen, grace: float) -> bool:
    """One SIGTERM, then SIGKILL after `grace` s; True when SIGKILL was needed."""
    if p.poll() is not None:
        return False
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=grace)
        return False
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return True


class Child:
    """A long-lived child: a server of the local stack, a driver of a run."""

    def __init__(self, name: str, process: subprocess.Popen, log_path: str, grace: float):
        self.name, self.process, self.log_path, self.grace = name, process, log_path, grace

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: Optional[float] = None) -> None:
        """One SIGTERM, then SIGKILL after the grace; reaps the child."""
        grace = self.grace if grace is None else grace
        if _terminate(self.process, grace):
            log(f"{self.name} (pid {self.pid}) ignored SIGTERM for {grace:g}s; sent SIGKILL")

    def wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        """Polls `ready` until it holds; gives up at once when the child died, or after
        `timeout` s, showing the tail of its log (StartError)."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive():
                log(f"{self.name} exited during start-up")
                tail(self.log_path)
                raise StartError(f"{self.name} exited during start-up; see {self.log_path}")
            if time.monotonic() >= deadline:
                log(f"{self.name} not ready after {timeout:g}s")
                tail(self.log_path)
                raise StartError(f"{self.name} not ready after {timeout:g}s; see "
                                 f"{self.log_path}")
            time.sleep(0.2)


class Children:
    """What one owner (a backend) started: stopped newest first, each exactly once."""

    def __init__(self) -> None:
        self.children: List[Child] = []

    def spawn(self, name: str, argv: Sequence[str], log_path: str, grace: float = 15.0,
              env: Optional[Dict[str, str]] = None) -> Child:
        with open(log_path, "ab") as out:
            child = Child(name, popen(argv, out, env), log_path, grace)
        self.children.append(child)
        return child

    def forget_exited(self) -> None:
        """Drop (and reap) children that ended, so none is ever signalled again."""
        self.children = [c for c in self.children if c.alive()]

    def stop_all(self) -> None:
        while self.children:
            self.children.pop().stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             poll: float = 0.2) -> bool:
    """Polls `condition` until it holds (True) or `timeout` s passed (False, logged)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            log(f"timed out after {timeout:g}s waiting for {what}")
            return False
        time.sleep(poll)
    return True


def sleep_until(epoch: float) -> None:
    """When the condition is time itself: wait out exactly what is left."""
    rest = epoch - time.time()
    if rest > 0:
        time.sleep(rest)
