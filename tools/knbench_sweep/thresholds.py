"""load_driver's --threshold grammar, as docs/experiments.md ("Thresholds") documents it,
for checking the specs when the driver binary is not there to check them itself
(preflight.py asks the driver first): METRIC then <, <=, > or >= then VALUE, where
METRIC is a latency statistic (p50 p90 p95 p99 p99.9 or p999, min, mean, max; prefix
send_ or intended_) with a duration, failure_rate with a ratio or a percentage, or
achieved_rps with a rate. The messages are the driver's."""

import math
import re
from typing import Optional

from .durations import parse_ns

LATENCY = ("p50", "p90", "p95", "p99", "p99.9", "min", "mean", "max")
GRAMMAR = ("want METRIC<VALUE (or <=, >, >=): p50 p90 p95 p99 p99.9 min mean max (send_ or "
           "intended_ prefix) with a duration like 200ms, failure_rate with a ratio like 0.01 "
           "or 1%, or achieved_rps")
_SPEC = re.compile(r"([^<>]*)(<=|>=|<|>)(.*)", re.S)


def _number(text: str) -> Optional[float]:
    """A finite decimal number, or None."""
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return None
    v = float(text)
    return v if math.isfinite(v) else None


def _latency(metric: str, value: str) -> Optional[str]:
    for prefix in ("send_", "intended_"):
        if metric.startswith(prefix):
            metric = metric[len(prefix):]
            break
    if metric == "p999":
        metric = "p99.9"
    if metric not in LATENCY:
        return f'unknown metric "{metric}"; {GRAMMAR}'
    if _number(value) is not None:
        return "a latency needs a unit (200ms, 1.5s, 800us)"
    try:
        if parse_ns(value) >= 0:
            return None
    except ValueError:
        pass
    return f'"{value}" is not a duration (200ms, 1.5s, 800us)'


def problem(spec: str) -> Optional[str]:
    """What is wrong with one spec (None: nothing)."""
    m = _SPEC.fullmatch(spec.strip())
    if not m or not m.group(1).strip():
        return GRAMMAR
    metric, value = m.group(1).strip(), m.group(3).strip()
    if not value:
        return "no value after the comparison"
    if metric == "failure_rate":
        percent = value.endswith("%")
        v = _number(value[:-1] if percent else value)
        if v is None or not 0 <= v <= (100 if percent else 1):
            return "failure_rate wants a ratio from 0 to 1 (0.01) or a percentage (1%)"
        return None
    if metric == "achieved_rps":
        v = _number(value)
        return None if v is not None and v >= 0 else \
            "achieved_rps wants a rate in requests/s (e.g. 95)"
    return _latency(metric, value)
