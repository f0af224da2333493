"""The live line of the run in progress, from its drivers' own progress lines
("elapsed 5.0s target 20.0 rps sent 100 ok 99 failed 0 dropped 0 inflight 1 p99 12ms
(last 5s: 99 ok)"), with the sweep's elapsed time and ETA. A thread asks the backend for
the lines every second and shows the sum when it changed: on a terminal at once (the line
is rewritten in place); in a log, a pipe or CI, where each update is a line of its own,
at most every LOG_EVERY_S or each tenth of the run, whichever is less frequent."""

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

from . import console
from .durations import hms, seconds_or

LOG_EVERY_S = 10.0
LOG_SHARES = 10  # a run shows at most this many lines in a log


def every_s(duration_s: float, on_terminal: bool) -> float:
    """The least time between two live lines: none on a terminal (each second's change
    replaces the last); else 10 s or a tenth of the run, whichever is longer, so that
    the quick start's 20 s runs log 2 lines each, not 20, and a 12-minute run 10."""
    return 0.0 if on_terminal else max(LOG_EVERY_S, duration_s / LOG_SHARES)


@dataclass(frozen=True)
class DriverTotals:
    elapsed_s: float  # the furthest driver
    ok_per_s: float  # successes per second over each driver's last interval, summed
    ok: int
    failed: int  # failures + dropped


def _number(text: str) -> float:
    m = re.match(r"[0-9]+(\.[0-9]*)?", text)
    return float(m.group(0)) if m else 0.0


def totals(lines: List[str]) -> Optional[DriverTotals]:
    """The drivers' progress lines summed (None: no line yet)."""
    if not lines:
        return None
    elapsed = rate = 0.0
    ok = failed = 0
    for line in lines:
        t = line.split()
        for k in range(len(t) - 1):
            if t[k] == "elapsed":
                elapsed = max(elapsed, _number(t[k + 1]))
            elif t[k] == "ok":
                ok += int(_number(t[k + 1]))
            elif t[k] in ("failed", "dropped"):
                failed += int(_number(t[k + 1]))
            elif t[k] == "(last" and k + 2 < len(t):
                interval = seconds_or(t[k + 1].rstrip(":"), 0)
                if interval > 0:
                    rate += _number(t[k + 2]) / interval
    return DriverTotals(elapsed, rate, ok, failed)


@dataclass
class SweepClock:
    """How far the sweep is, for the ETA: the remaining runs at the average time per run
    so far (before the first run ends: the planned time per run)."""
    total: int
    planned_per_run_s: float
    started: float = 0.0
    done_s: float = 0.0
    done_runs: int = 0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def run_ended(self, index: int) -> None:
        self.done_runs = index
        self.done_s = time.monotonic() - self.started

    def eta(self, index: int, run_started: float) -> float:
        per_run = self.done_s / self.done_runs if self.done_runs else self.planned_per_run_s
        return max(0.0, per_run * (self.total - index) + per_run -
                   (time.monotonic() - run_started))


def line(point, clock: SweepClock, duration_s: int, d: DriverTotals, run_started: float) -> str:
    return (f"progress run {point.index}/{clock.total} rps={point.rps} spin={point.spin_ms}ms: "
            f"{d.elapsed_s:.1f}s of {duration_s}s, {d.ok_per_s:.1f} ok/s, {d.ok} ok, "
            f"{d.failed} failed | sweep {hms(time.monotonic() - clock.started)}, ETA "
            f"{hms(clock.eta(point.index, run_started))}")


class Ticker:
    """The live line of one run, from a thread of its own while the run goes."""

    def __init__(self, lines: Callable[[str], List[str]], point, clock: SweepClock,
                 duration_s: int, on_terminal: Optional[bool] = None,
                 now: Callable[[], float] = time.monotonic):
        self.lines, self.point, self.clock, self.duration_s = lines, point, clock, duration_s
        self.every = every_s(duration_s, console.on_terminal() if on_terminal is None
                             else on_terminal)
        self.now = now
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.started = time.monotonic()
        self.last: Optional[DriverTotals] = None
        self.shown_at: Optional[float] = None

    def __enter__(self) -> "Ticker":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=15)
        console.clear_live()

    def _loop(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a progress line is never worth a failed run
                continue

    def tick(self) -> None:
        """Show the drivers' sum if it changed and the last line is old enough."""
        d = totals(self.lines(self.point.name))
        t = self.now()
        if d is None or d == self.last or (self.shown_at is not None and
                                           t - self.shown_at < self.every):
            return
        self.last, self.shown_at = d, t
        console.live(line(self.point, self.clock, self.duration_s, d, self.started))
