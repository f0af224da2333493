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


def listen_addresses(port):
    """The local addresses with a TCP listener on `port`, as /proc/net/tcp
    prints them (hex; IPv4-mapped IPv6 reduced to IPv4): 0100007F is
    127.0.0.1, 00000000 is 0.0.0.0."""
    found = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:
                    found.add(addr.replace("0000000000000000FFFF0000", ""))
    return found
