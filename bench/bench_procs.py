"""The processes a benchmark starts and what /proc says about them: CPU,
memory, threads, file descriptors; starting and stopping them (every one is
stopped on exit), the worker as a process, and CPU/RSS samples."""
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "scripts", "lib"))
from knbench_proc import free_port, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    """utime+stime of a process (all its threads, live and exited)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICKS


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def context_switches(pid):
    """Voluntary + involuntary switches of the live threads of `pid`."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
        except OSError:
            pass  # the thread ended
    return total


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def memory_breakdown(pid):
    """From smaps_rollup: RSS, PSS, and anonymous memory (heap, stacks: what
    the process allocated, as opposed to mapped library and binary pages,
    which count as shared or private depending on who else maps them)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return {"rss": out.get("Rss"), "pss": out.get("Pss"),
            "anonymous": out.get("Anonymous"),
            "shared": out.get("Shared_Clean", 0) + out.get("Shared_Dirty", 0),
            "private": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)}


def mib(n):
    return n / (1024 * 1024)


STARTED = []  # every process we started, stopped on exit


def wait_exit(proc, timeout):
    """Waits (at most `timeout` s) for `proc` to exit, then reaps it. Sets
    proc.cpu_s: utime+stime of the process over its whole life, read from
    /proc after it exited and before it is reaped (a zombie keeps its final
    times; wait4's rusage would add the children it reaped, such as
    local_serving's pods). What `time` reports for a process that starts no
    children. Raises subprocess.TimeoutExpired."""
    if proc.returncode is not None:
        return proc.returncode
    fd = os.pidfd_open(proc.pid)
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        proc.cpu_s = cpu_seconds(proc.pid)
    finally:
        os.close(fd)
    if proc in STARTED:
        STARTED.remove(proc)
    return proc.wait()


def whole_cost(cpu_s, calls):
    """CPU µs per call of a whole process: its CPU from start to exit over
    every call it made or answered."""
    known = cpu_s is not None and calls
    return {"cpu_us_per_request": cpu_s * 1e6 / calls if known else None,
            "cpu_s": cpu_s, "calls": calls}


def stop(proc, timeout=20):
    if proc.returncode is None:
        # Not send_signal: it would reap a process that already exited
        # before wait_exit reads its CPU.
        os.kill(proc.pid, signal.SIGTERM)
        try:
            wait_exit(proc, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    if proc in STARTED:
        STARTED.remove(proc)
    return proc.returncode


def stop_all():
    for proc in list(STARTED):
        stop(proc, timeout=5)


def spawn(args, log_path, **kw):
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, **kw)
    log.close()
    STARTED.append(proc)
    return proc


def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                timeout=timeout) as r:
        return r.status, r.read().decode()


class Worker:
    def __init__(self, binary, workdir, name="worker", extra=()):
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.proc = spawn([binary, "--bind=127.0.0.1",
                           f"--grpc-port={self.grpc_port}",
                           f"--metrics-port={self.metrics_port}", *extra],
                          os.path.join(workdir, f"{name}.log"),
                          env={**os.environ, "POD_NAME": name})

        def ready():
            if self.proc.poll() is not None:
                raise BenchError(f"worker exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.grpc_port),
                                         timeout=1).close()
                return http_get(self.metrics_port, "/healthz")[0] == 200
            except OSError:
                return False

        wait_until(ready, 20, "the worker to serve", error=BenchError)

    @property
    def pid(self):
        return self.proc.pid

    def successes(self):
        return worker_successes(self.metrics_port)

    def stop(self):
        return stop(self.proc)

    def stop_counted(self):
        """Stops the worker: its whole-process CPU per call it answered."""
        calls = self.successes()
        self.stop()
        return whole_cost(getattr(self.proc, "cpu_s", None), calls)


def worker_successes(metrics_port):
    """Calls a worker answered with success, from its /metrics."""
    _, text = http_get(metrics_port, "/metrics")
    m = re.search(r'^worker_requests_total\{[^}]*status="success"[^}]*\} '
                  r'([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


class Sampler:
    """CPU/RSS of some pids at chosen offsets after a start time."""

    def __init__(self, pids):
        self.pids = pids

    def take(self):
        snap = {"t": time.monotonic()}
        for name, pid in self.pids.items():
            snap[name] = {"cpu_s": cpu_seconds(pid), "rss": rss_bytes(pid),
                          "fds": open_fds(pid), "threads": threads(pid),
                          "ctxt": context_switches(pid)}
        return snap


def wait_for_quiet(max_load, max_wait_s):
    """Waits, bounded, until the 1-minute load average is below max_load;
    returns what it was when the wait ended."""
    deadline = time.monotonic() + max_wait_s
    load = os.getloadavg()[0]
    while load >= max_load and time.monotonic() < deadline:
        log(f"bench: 1-minute load average {load:.2f} >= {max_load}; "
            f"waiting (at most {deadline - time.monotonic():.0f} s more)")
        time.sleep(min(15, max(0.0, deadline - time.monotonic())))
        load = os.getloadavg()[0]
    return load
