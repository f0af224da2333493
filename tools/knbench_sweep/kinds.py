"""The kinds of value a sweep option takes: each parses the text a user gave and says
what it must be when the text is wrong (the option table names the option and quotes
the text: "--repeat must be a whole number from 1 to 1000, got '0'")."""

import re
from dataclasses import dataclass
from typing import Any, List, Tuple

from .durations import parse_ns, whole_seconds

HOUR = 3600


class Invalid(ValueError):
    """The text does not fit; str() is what it must be ("must be ...")."""


@dataclass(frozen=True)
class Text:
    """Any text (paths, URLs, names)."""
    takes_value = True

    def parse(self, text: str) -> Any:
        return text


@dataclass(frozen=True)
class Switch:
    """A flag without a value (--dry-run)."""
    takes_value = False

    def parse(self, text: str) -> Any:
        return bool(text)


@dataclass(frozen=True)
class Count(Text):
    """A whole number lo..hi. Checked as text first: no float, no sign, no exponent."""
    lo: int
    hi: int
    unit: str = ""

    def parse(self, text: str) -> Any:
        unit = f" of {self.unit}" if self.unit else ""
        if not re.fullmatch(r"[0-9]+", text) or not self.lo <= int(text) <= self.hi:
            raise Invalid(f"must be a whole number{unit} from {self.lo} to {self.hi}")
        return int(text)


@dataclass(frozen=True)
class Seconds(Text):
    """Whole seconds lo..hi: a bare number of seconds or a Go duration (90, 90s, 1m30s)."""
    lo: int
    hi: int
    must: str  # the words of the error, e.g. "must be whole seconds (120 or 2m)"

    def parse(self, text: str) -> Any:
        try:
            s = whole_seconds(text)
        except ValueError:
            raise Invalid(self.must)
        if not self.lo <= s <= self.hi:
            raise Invalid(self.must)
        return s


@dataclass(frozen=True)
class Duration(Text):
    """A positive Go duration, kept as written (it is passed on as a flag value)."""

    def parse(self, text: str) -> Any:
        try:
            if parse_ns(text) > 0:
                return text
        except ValueError:
            pass
        raise Invalid("must be a positive duration such as 30s, 10m or 1h")


@dataclass(frozen=True)
class Interval(Text):
    """A positive number of seconds, fractions allowed (0.1)."""

    def parse(self, text: str) -> Any:
        if re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", text) and 0 < float(text) <= HOUR:
            return float(text)
        raise Invalid("must be a number of seconds above 0, at most 3600 (5, 0.5)")


@dataclass(frozen=True)
class Ratio(Text):
    """A ratio 0..1 written as a plain decimal; the text is kept (sweep.conf shows it)."""

    def parse(self, text: str) -> Any:
        if re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", text) and float(text) <= 1:
            return text
        raise Invalid("must be a ratio between 0 and 1")


@dataclass(frozen=True)
class Choice(Text):
    values: Tuple[str, ...]

    def parse(self, text: str) -> Any:
        if text not in self.values:
            raise Invalid("must be " + " or ".join(self.values))
        return text


@dataclass(frozen=True)
class Pattern(Text):
    regex: str
    must: str

    def parse(self, text: str) -> Any:
        if not re.fullmatch(self.regex, text):
            raise Invalid(self.must)
        return text


@dataclass(frozen=True)
class Words(Text):
    """Arguments split on whitespace (WORKER_ARGS, --serving-args)."""

    def parse(self, text: str) -> Any:
        return text.split()


@dataclass(frozen=True)
class Classes(Text):
    """Autoscaler classes separated by commas, each once, in the order given (kpa,hpa)."""
    values: Tuple[str, ...]

    def parse(self, text: str) -> Any:
        names = [n.strip() for n in text.split(",")] if text.strip() else []
        if any(n not in self.values for n in names) or len(set(names)) != len(names):
            raise Invalid("must be a comma-separated list of " + ", ".join(self.values)
                          + ", each at most once")
        return names


@dataclass(frozen=True)
class SpecList(Text):
    """Specs that hold no spaces, separated by commas or spaces (THRESHOLDS); a repeated
    flag adds to the list."""

    def parse(self, text: str) -> Any:
        return [s for s in re.split(r"[,\s]+", text) if s]


def joined(values: List[str]) -> str:
    """The text of a repeated flag's values, as one SpecList would read them."""
    return ",".join(values)
