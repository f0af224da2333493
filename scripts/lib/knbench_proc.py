"""What the Python tests and the benchmark share about local processes: a
free loopback port, and a bounded wait on a condition (never a fixed sleep).
Import it after putting scripts/lib on sys.path."""
import socket
import time


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=20.0, what="condition", poll=0.02,
               error=AssertionError):
    """Polls `condition` until it is true; raises `error` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise error(f"timed out after {timeout}s waiting for {what}")
