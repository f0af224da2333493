"""The plan: one run per grid point and repeat, in the order they run.

Grid order: repeat by repeat (so a slow drift of the machine spreads over every point),
spin outer, rps inner, like the original. Shuffled: the same runs in the order
random.Random(seed).shuffle gives them (the order the kit has always used: a shuffle
permutes positions, whatever the list holds)."""

import random
from dataclasses import dataclass
from typing import List, Sequence


@dataclass(frozen=True)
class RunPoint:
    index: int  # 1-based position in the plan
    rps: int
    spin_ms: int
    repeat: int
    repeats: int  # of the sweep: names carry -rN only when above 1

    @property
    def name(self) -> str:
        """The file names' common part: results-<name>.csv, summary-<name>.json, ..."""
        base = f"{self.rps}rps-{self.spin_ms}ms"
        return f"{base}-r{self.repeat}" if self.repeats > 1 else base

    def files(self) -> dict:
        """The run's files in the sweep directory, by role."""
        return {"csv": f"results-{self.name}.csv", "summary": f"summary-{self.name}.json",
                "prometheus": f"prometheus-{self.name}.json",
                "collect_log": f"logs/collect-{self.name}.log"}


def build_plan(rates: Sequence[int], spins: Sequence[int], repeats: int, order: str = "grid",
               seed: int = 1) -> List[RunPoint]:
    cells = [(spin, rps, rep) for rep in range(1, repeats + 1) for spin in spins
             for rps in rates]
    if order == "shuffled":
        random.Random(seed).shuffle(cells)
    return [RunPoint(i, rps, spin, rep, repeats)
            for i, (spin, rps, rep) in enumerate(cells, start=1)]


def plan_line(p: RunPoint, total: int, label: str = "") -> str:
    """How --dry-run lists a run (of one class, in its directory, with --autoscalers)."""
    where = f"{label} " if label else ""
    files = f"{label}/*-{p.name}.*" if label else f"*-{p.name}.*"
    return (f"plan {where}{p.index}/{total} rps={p.rps} spin={p.spin_ms}ms "
            f"repeat={p.repeat} files={files}")
