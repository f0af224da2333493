"""Go durations ("1m30s", "500ms", "1.5h"), the syntax of every duration our binaries,
Knative's annotations and the sweep's options take: the one parser on the Python side.

parse_ns follows Go's time.ParseDuration: an optional sign, then one or more
number+unit pairs (units ns, us, µs, ms, s, m, h; a number may have a fraction), or a
bare "0"; anything beyond what int64 nanoseconds hold is an error, as in Go.
whole_seconds adds what the sweep accepts: a bare number of seconds (the original's
RUN_DURATION=720), and nothing that is not a whole number of seconds.

As a command (common.sh's duration_seconds): python3 -m knbench_sweep.durations
[--whole-seconds] TEXT prints the seconds, or exits 1 on anything else.
"""

import re
import sys
from decimal import Decimal
from typing import Optional

NS_PER_S = 10**9
MAX_NS = 2**63 - 1
UNITS_NS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6,
            "s": NS_PER_S, "m": 60 * NS_PER_S, "h": 3600 * NS_PER_S}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)([a-z\u00b5\u03bc]+)")


def parse_ns(text: str) -> int:
    """Nanoseconds of a Go duration; ValueError on anything Go would refuse."""
    s = text
    sign = 1
    if s[:1] in ("-", "+"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total = Decimal(0)
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m or m.group(2) not in UNITS_NS:
            raise ValueError(f"invalid duration {text!r}")
        total += Decimal(m.group(1)) * UNITS_NS[m.group(2)]
        pos = m.end()
    ns = int(total)  # Go drops what is below a nanosecond
    if ns > MAX_NS + (1 if sign < 0 else 0):
        raise ValueError(f"invalid duration {text!r}: out of range")
    return sign * ns


def parse_seconds(text: str) -> float:
    """Seconds of a Go duration, as a float."""
    return parse_ns(text) / NS_PER_S


def whole_seconds(text: str) -> int:
    """Whole, non-negative seconds: a bare number of seconds or a Go duration; ValueError
    otherwise (fractions, negative durations, ms that do not add up to a second)."""
    ns = parse_ns(text + "s") if re.fullmatch(r"\d+", text) else parse_ns(text)
    if ns < 0 or ns % NS_PER_S:
        raise ValueError(f"{text!r} is not a whole number of seconds")
    return ns // NS_PER_S


def seconds_or(text: Optional[str], default: float) -> float:
    """A duration in seconds, or `default` when it is missing or unreadable."""
    try:
        return parse_seconds(text) if text else default
    except ValueError:
        return default


def hms(seconds: float) -> str:
    """1h02m03s, 2m03s or 45s (whole seconds)."""
    t = int(seconds)
    if t >= 3600:
        return f"{t // 3600}h{t % 3600 // 60:02d}m{t % 60:02d}s"
    if t >= 60:
        return f"{t // 60}m{t % 60:02d}s"
    return f"{t}s"


def main(argv) -> int:
    whole = argv[:1] == ["--whole-seconds"]
    args = argv[1:] if whole else argv
    if len(args) != 1:
        print("usage: python3 -m knbench_sweep.durations [--whole-seconds] DURATION",
              file=sys.stderr)
        return 2
    try:
        print(whole_seconds(args[0]) if whole else f"{parse_seconds(args[0]):g}")
    except ValueError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
