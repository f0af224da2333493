"""local_serving's resolved settings, as `local_serving --check-config --format=json`
prints them (the contract shared with the C++ settings table), and what the sweep takes
from them, per autoscaler class (kpa, hpa): the idle pod count, how long the way back to
it takes, kpa_model's replay arguments and the autoscaling line of sweep.conf."""

import json
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from . import procs
from .durations import seconds_or

# The settings the autoscaling line of sweep.conf shows per class, in this order
# (target_per_pod is derived: target x utilization).
SHOWN = {"kpa": ("metric", "target_per_pod", "container_concurrency", "window",
                 "panic_window_percentage", "target_burst_capacity", "min_scale", "max_scale",
                 "initial_scale", "scale_to_zero_grace_period"),
         "hpa": ("metric", "target", "min_scale", "max_scale", "window",
                 "horizontal_pod_autoscaler_sync_period", "horizontal_pod_autoscaler_tolerance",
                 "horizontal_pod_autoscaler_cpu_initialization_period",
                 "horizontal_pod_autoscaler_initial_readiness_delay",
                 "horizontal_pod_autoscaler_downscale_stabilization", "metric_resolution",
                 "cpu_request")}
DEFAULT_CLASS = "kpa"  # what kpa_model and local_serving take without --class


def scale_down_s(cls: str, seconds: Callable[[str, float], float]) -> float:
    """About how long a revision takes back to its idle state once its load is gone, from
    its settings (seconds(key, default)). KPA: the stable window. HPA: the scale-down
    stabilization (the window annotation when set, else the controller's downscale
    stabilization), plus one metric sample and one sync to see the load gone."""
    if cls != "hpa":
        return seconds("window", 60)
    stabilization = seconds("window", -1)
    if stabilization < 0:
        stabilization = seconds("horizontal_pod_autoscaler_downscale_stabilization", 300)
    return (stabilization + seconds("metric_resolution", 15)
            + seconds("horizontal_pod_autoscaler_sync_period", 15))


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
    def autoscaler_class(self) -> str:
        return str(self.doc.get("class") or DEFAULT_CLASS)

    @property
    def idle_pods(self) -> int:
        """The revision's idle state: min-scale ready pods; at least 1 when scale to zero
        is switched off, and always with the HPA class, which never scales to zero."""
        n = int(self.value("min_scale") or 0)
        if self.autoscaler_class == "hpa" or self.value("enable_scale_to_zero") is False:
            return max(n, 1)
        return n

    def scale_down_s(self) -> float:
        return scale_down_s(self.autoscaler_class, self.seconds)

    def replay_args(self) -> List[str]:
        """kpa_model's flags for the same decisions (the contract's replay rule; both
        binaries share one settings table): every set setting, the class among them (a
        binary that does not list it gets --class when it is not the default), then the
        pod start delay, which only the KPA's replay uses."""
        cls = self.autoscaler_class
        out = [f"--class={cls}"] if cls != DEFAULT_CLASS and "class" not in self.settings \
            else []
        out += [f"--{k.replace('_', '-')}={flag_value(v)}" for k, v in self.settings.items()
                if v is not None]
        delay = self.serving.get("pod_start_delay")
        return out + ([f"--pod-start-delay={delay}"] if delay is not None and cls != "hpa"
                      else [])

    def autoscaling_line(self) -> str:
        """"KPA metric=concurrency target_per_pod=7 ..." for sweep.conf's autoscaling key."""
        cls = self.autoscaler_class
        parts = [f"{k}={flag_value(self.value(k))}" for k in SHOWN.get(cls, SHOWN["kpa"])
                 if self.value(k) is not None]
        return " ".join([cls.upper()] + parts)


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
