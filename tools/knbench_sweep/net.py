"""Loopback helpers: free ports, TCP and HTTP checks, and Prometheus's HTTP API through
urllib (no curl, no jq)."""

import json
import random
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import List, Optional, Set


class Ports:
    """Hands out TCP ports that are free on this machine right now, never the same one
    twice. They come from below the kernel's ephemeral range, so that outgoing
    connections (scrapes, gRPC) cannot take them between the check and our use."""

    def __init__(self, range_file: str = "/proc/sys/net/ipv4/ip_local_port_range"):
        try:
            with open(range_file) as f:
                low = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            low = 32768
        self.high = low if low > 20000 else 32768
        self.low = self.high - 12000
        self.taken: Set[int] = set()

    def take(self) -> int:
        for _ in range(50):
            port = random.randrange(self.low, self.high)
            if port not in self.taken and bindable(port):
                self.taken.add(port)
                return port
        raise OSError("no free port found after 50 tries")


def bindable(port: int) -> bool:
    """Nothing holds the port on any address (binding the wildcard address fails if any
    address holds it, so servers on 0.0.0.0 and on 127.0.0.1 can both have it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 2.0) -> Optional[bytes]:
    """The body of a 2xx answer, or None (refused, timed out, any other status)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except (OSError, urllib.error.URLError, ValueError):
        return None


def http_ok(url: str, timeout: float = 2.0) -> bool:
    return http_get(url, timeout) is not None


def http_json(url: str, timeout: float = 2.0):
    """The JSON body of a 2xx answer, or None."""
    body = http_get(url, timeout)
    try:
        return None if body is None else json.loads(body)
    except ValueError:
        return None


class Prometheus:
    """Instant queries against a Prometheus server's HTTP API."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def ready(self) -> bool:
        return http_ok(self.url + "/-/ready")

    def query(self, expr: str) -> Optional[List[dict]]:
        """The result vector of an instant query, or None when it cannot be had."""
        doc = http_json(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}),
                        timeout=5.0)
        if not isinstance(doc, dict) or doc.get("status") != "success":
            return None
        result = (doc.get("data") or {}).get("result")
        return result if isinstance(result, list) else None

    def value(self, expr: str) -> Optional[float]:
        """The first sample's value of an instant query (None: no sample or no answer)."""
        result = self.query(expr)
        try:
            return float(result[0]["value"][1]) if result else None
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def targets_up(self, job: str, count: int) -> bool:
        """Prometheus scraped `count` targets of `job` successfully."""
        return (self.value(f'count(up{{job="{job}"}} == 1)') or 0) == count

    def scraped_after(self, job: str, epoch: float) -> bool:
        """It holds a sample of `job` scraped after `epoch`."""
        return (self.value(f'timestamp(up{{job="{job}"}})') or 0) >= epoch

    def no_driver_series(self) -> bool:
        """No live series of any driver: the previous driver's were marked stale."""
        return self.query("count(load_driver_scheduled_total)") == []

    def driver_final(self, label: str, value: str, scheduled: int, end: float) -> bool:
        """A sample of that driver's load_driver_scheduled_total equal to its final count,
        scraped after `end`: a query over the run's window sees its last second."""
        expr = (f'timestamp(load_driver_scheduled_total{{job="load_driver",{label}="{value}"}}'
                f" == {scheduled})")
        return (self.value(expr) or 0) >= end


def main(argv: List[str]) -> int:
    """python3 -m knbench_sweep.net free-port [TAKEN...]: a free port, none of TAKEN (the
    shell helpers' free_port, so that bash and Python pick ports one way)."""
    if argv[:1] != ["free-port"] or not all(a.isdigit() for a in argv[1:]):
        print("usage: python3 -m knbench_sweep.net free-port [TAKEN_PORT...]", file=sys.stderr)
        return 2
    ports = Ports()
    ports.taken.update(int(a) for a in argv[1:])
    try:
        print(ports.take())
    except OSError as e:
        print(f"free_port: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
