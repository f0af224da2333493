"""local_serving's resolved settings, as `local_serving --check-config --format=json`
prints them (the contract shared with the C++ settings table), and what the sweep takes
from them: the idle pod count, the stable window, kpa_model's replay arguments and the
autoscaling line of sweep.conf."""

import json
import subprocess
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from . import procs
from .durations import seconds_or

# The settings the autoscaling line of sweep.conf shows, in this order (target_per_pod
# is derived: target x utilization).
SHOWN = ("metric", "target_per_pod", "container_concurrency", "window",
         "panic_window_percentage", "target_burst_capacity", "min_scale", "max_scale",
         "initial_scale", "scale_to_zero_grace_period")


class ConfigError(Exception):
    """local_serving refused the settings (its own one line), or printed no object."""


@dataclass(frozen=True)
class ServingConfig:
    doc: Dict[str, Any]  # the whole object, recorded as it is

    @property
    def settings(self) -> Dict[str, Any]:
        return self.doc.get("settings") or {}

    @property
    def serving(self) -> Dict[str, Any]:
        return self.doc.get("serving") or {}

    def value(self, key: str) -> Any:
        """A setting, else a derived value, else a serving flag (None when missing)."""
        for part in (self.settings, self.doc.get("derived") or {}, self.serving):
            if part.get(key) is not None:
                return part[key]
        return None

    def seconds(self, key: str, default: float) -> float:
        return seconds_or(self.value(key), default)

    @property
    def idle_pods(self) -> int:
        """The revision's idle state: min-scale ready pods, at least 1 when scale to zero
        is switched off."""
        n = int(self.value("min_scale") or 0)
        return max(n, 1) if self.value("enable_scale_to_zero") is False else n

    def replay_args(self) -> List[str]:
        """kpa_model's flags for the same decisions: every set setting, then the pod start
        delay (the contract's replay rule; both binaries share one settings table)."""
        out = [f"--{k.replace('_', '-')}={flag_value(v)}" for k, v in self.settings.items()
               if v is not None]
        delay = self.serving.get("pod_start_delay")
        return out + ([f"--pod-start-delay={delay}"] if delay is not None else [])

    def autoscaling_line(self) -> str:
        """"KPA metric=concurrency target_per_pod=7 ..." for sweep.conf's autoscaling key."""
        parts = [f"{k}={flag_value(self.value(k))}" for k in SHOWN if self.value(k) is not None]
        return " ".join([str(self.doc.get("class") or "kpa").upper()] + parts)


def flag_value(v: Any) -> str:
    """A setting as a flag's value: booleans true/false, 7.0 as 7."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def resolve(binary: str, flags: Sequence[str], timeout: float = 60.0) -> ServingConfig:
    """Run `binary --check-config --format=json FLAGS`; ConfigError with its one line when
    it refuses them."""
    try:
        r = procs.run([binary, "--check-config", "--format=json", *flags], timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"{binary} --check-config: {e}")
    if r.returncode != 0:
        lines = [x for x in (r.stderr or r.stdout).splitlines() if x.strip()]
        raise ConfigError(lines[-1] if lines else f"{binary} exited {r.returncode}")
    return parse(r.stdout, binary)


def parse(text: str, binary: str = "local_serving") -> ServingConfig:
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("settings"), dict):
        raise ConfigError(f"{binary} --check-config --format=json printed no settings object")
    return ServingConfig(doc)


def load(doc: Optional[Dict[str, Any]]) -> Optional[ServingConfig]:
    return ServingConfig(doc) if isinstance(doc, dict) else None
