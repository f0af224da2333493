"""What ran where: the kit's version and commit, the host (the report's header)."""

import os
import re
import socket
import subprocess
from typing import Dict

from . import procs
from .options import ROOT


def kit_version() -> str:
    try:
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            m = re.search(r"^project\(\S* VERSION ([0-9.]+)", f.read(), re.M)
        return m.group(1) if m else ""
    except OSError:
        return ""


def commit() -> str:
    """The checkout's commit, with -dirty when the work tree has changes."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return procs.run(["git", "-C", ROOT, *args], timeout=30)
    try:
        head = git("rev-parse", "--short=12", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("diff", "--quiet", "HEAD", "--").returncode != 0
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def host_cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def provenance(duration_s: int, warmup_s: int) -> Dict[str, str]:
    return {"kit_version": kit_version(), "commit": commit(),
            "host": socket.gethostname(), "host_cores": str(len(os.sched_getaffinity(0))),
            "host_cpu": host_cpu(),
            "schedule": f"constant rate for {duration_s} s per run",
            "warmup_rule": f"the driver marks the first {warmup_s} s of each run as warm-up"}
