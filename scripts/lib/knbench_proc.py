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


def listening_sockets():
    """Every listening TCP socket: inode -> (address, port), the address as
    /proc/net/tcp prints it (hex; IPv4-mapped IPv6 reduced to IPv4):
    0100007F is 127.0.0.1, 00000000 is 0.0.0.0."""
    found = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                addr, hexport = fields[1].split(":")
                if fields[3] == "0A":  # LISTEN
                    found[fields[9]] = (addr.replace("0000000000000000FFFF0000", ""),
                                        int(hexport, 16))
    return found


def listen_addresses(port):
    """The local addresses (as listening_sockets gives them) with a TCP
    listener on `port`."""
    return {addr for addr, p in listening_sockets().values() if p == port}
