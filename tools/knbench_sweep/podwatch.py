"""Pods that die or never get ready, noticed while the sweep waits on them, so that a run
whose pods cannot run ends at once with one line saying why and where to look, instead
of waiting out its driver's call deadlines and failing every request.

Local serving's /state lists each pod (name, phase, pid, restarts), and each pod's output
is <log-dir>/<pod>.log. Its pod manager restarts a dead pod as the kubelet does: at once,
then after 10 s, 20 s, ... up to 5 min, and forgets the back-off after 10 min of running.
So, as a cluster would show it:
- a pod that died is a warning naming its log: the restart is part of the run;
- a pod that died again within those 10 min is crash-looping: the run stops;
- a pod whose process started and was still not ready READY_LIMIT_S later never will:
  the run stops.
Fixed pods (--local-pods) are never restarted: one that exited stops the run.
"""

import os
import time
from typing import Callable, Dict, List, Tuple

from .console import RunFailed, warn

BACKOFF_MEMORY_S = 600  # the kubelet's: 10 min of running forgets a pod's back-off
READY_LIMIT_S = 30  # a worker gets ready in milliseconds; 30 s is far beyond a slow start
LAST_LINE_CHARS = 200


class PodsFailed(RunFailed):
    """The pods (or local_serving, which holds them) died or never got ready."""


def last_line(path: str) -> str:
    """The last non-empty line of a log (shortened), or "" when there is none."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4096))
            lines = [x.strip() for x in f.read().decode(errors="replace").splitlines()]
    except OSError:
        return ""
    last = next((x for x in reversed(lines) if x), "")
    return last if len(last) <= LAST_LINE_CHARS else last[:LAST_LINE_CHARS] + "..."


def evidence(path: str) -> str:
    """What a log says last, and where it is."""
    last = last_line(path)
    return f"its log ends '{last}'; see {path}" if last else f"see {path}"


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


class PodWatch:
    """Reads each /state the sweep fetches; PodsFailed when the pods cannot run."""

    def __init__(self, log_dir: str, now: Callable[[], float] = time.monotonic):
        self.log_dir, self.now = log_dir, now
        self.restarts: Dict[str, int] = {}  # pod -> restarts already seen
        self.deaths: Dict[str, List[float]] = {}  # pod -> when each death was seen
        self.starting: Dict[Tuple[str, int], float] = {}  # (pod, pid) -> seen starting since

    def log_path(self, pod: str) -> str:
        return os.path.join(self.log_dir, f"{pod}.log")

    def observe(self, state: dict) -> None:
        t = self.now()
        pods = [p for p in state.get("pods") or [] if isinstance(p, dict) and p.get("name")]
        starting = {}
        for p in pods:
            name = str(p["name"])
            self._count_deaths(name, _int(p.get("restarts")), t)
            if p.get("phase") == "starting":
                key = (name, _int(p.get("pid")))
                starting[key] = self.starting.get(key, t)
                if t - starting[key] >= READY_LIMIT_S:
                    raise PodsFailed(f"pod {name} not ready {t - starting[key]:.0f}s after "
                                     f"its process started (pid {key[1]}); "
                                     f"{evidence(self.log_path(name))}")
        self.starting = starting
        # Pods that are gone (scaled down) are forgotten: their names never come back.
        listed = {str(p["name"]) for p in pods}
        self.restarts = {k: v for k, v in self.restarts.items() if k in listed}
        self.deaths = {k: v for k, v in self.deaths.items() if k in listed}

    def _count_deaths(self, name: str, restarts: int, t: float) -> None:
        new = restarts - self.restarts.get(name, 0)
        if new <= 0:
            return
        self.restarts[name] = restarts
        seen = self.deaths.setdefault(name, [])
        seen.extend([t] * new)
        path = self.log_path(name)
        warn(f"pod {name} died (restart {restarts}); {evidence(path)}")
        if len(seen) >= 2 and seen[-1] - seen[-2] <= BACKOFF_MEMORY_S:
            raise PodsFailed(f"pod {name} keeps dying (restart {restarts}, "
                             f"{seen[-1] - seen[-2]:.0f}s after the previous death): "
                             f"{evidence(path)}")


def check_exited(children) -> None:
    """Fixed pods: PodsFailed naming the first worker process that exited."""
    for child in children:
        if not child.alive():
            raise PodsFailed(f"{child.name} exited (exit {child.process.returncode}); "
                             f"{evidence(child.log_path)}")
