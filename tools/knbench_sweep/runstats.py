"""A finished run in numbers, from its driver's summary: counts, p95, the --threshold
specs it violated (with several drivers each judged its own share), and whether its
failures passed the sweep's failure threshold."""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .console import UsageError


@dataclass(frozen=True)
class RunStats:
    scheduled: int
    ok: int
    failed: int  # failures + dropped
    p95_ms: Optional[float]
    ratio: float  # failed / scheduled (1 when nothing was scheduled)
    exceeded: bool  # ratio above the failure threshold
    violated: List[str] = field(default_factory=list)

    @property
    def p95_text(self) -> str:
        return "n/a" if self.p95_ms is None else f"{self.p95_ms:.1f}ms"

    def as_json(self) -> Dict[str, Any]:
        return {"scheduled": self.scheduled, "success": self.ok, "failed": self.failed,
                "p95_ms": self.p95_ms, "failure_ratio": self.ratio,
                "thresholds_violated": list(self.violated)}


def stats(summary: Dict[str, Any], fail_threshold: float) -> RunStats:
    scheduled = int(summary["scheduled"])
    failed = int(summary["failure"]) + int(summary["dropped"])
    ratio = failed / scheduled if scheduled else 1.0
    p95 = (summary.get("latency_ms") or {}).get("p95")
    violated: List[str] = []
    for d in [summary] + list(summary.get("drivers") or []):
        for t in d.get("thresholds") or []:
            if not t.get("ok") and t.get("spec") not in violated:
                violated.append(t.get("spec"))
    return RunStats(scheduled, int(summary["success"]), failed,
                    None if p95 is None else float(p95), ratio, ratio > fail_threshold, violated)


def read_stats(path: str, fail_threshold: float) -> RunStats:
    try:
        with open(path) as f:
            return stats(json.load(f), fail_threshold)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"cannot read {path}")
