"""The pods' resources as local serving resolved them (its --check-config JSON's
serving.pod_resources, recorded in runs.json), in words for the report: what each pod
was given and whether its cgroup enforced it, since a CPU limit shows in the latencies
(CFS throttling) only where it was enforced."""
from typing import Any, Dict, Optional

MIB = 1 << 20


def cpu_text(millicores: int) -> str:
    """As a manifest would write it: 500m, 1, 1500m."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_text(n: int) -> str:
    return f"{n // MIB}Mi" if n % MIB == 0 else f"{n} bytes"


def pod_resources(cfg: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    serving = (cfg or {}).get("serving") or {}
    res = serving.get("pod_resources")
    return res if isinstance(res, dict) else None


def resources_words(res: Dict[str, Any]) -> str:
    """"CPU request 500m, CPU limit 1, memory limit 256Mi" (what was set)."""
    parts = []
    for key, what, text in (("cpu_request_millicores", "CPU request", cpu_text),
                            ("cpu_limit_millicores", "CPU limit", cpu_text),
                            ("memory_request_bytes", "memory request", memory_text),
                            ("memory_limit_bytes", "memory limit", memory_text)):
        if isinstance(res.get(key), int):
            parts.append(f"{what} {text(res[key])}")
    return ", ".join(parts) or "no requests or limits"


def enforcement_words(res: Dict[str, Any]) -> str:
    how = str(res.get("limits_enforced") or "")
    if how in ("v1", "v2"):
        return (f"enforced in each pod's own cgroup ({how}): a pod over its CPU limit was "
                "throttled, as on a cluster")
    reason = how.split(":", 1)[1].strip() if ":" in how else "not recorded"
    return f"not enforced ({reason}): the pods ran unlimited"


def sentence(cfg: Optional[Dict[str, Any]]) -> Optional[str]:
    """The report's sentence on the pods' resources (None when the sweep did not record
    them: a cluster, or an older kit)."""
    res = pod_resources(cfg)
    if res is None:
        return None
    return f"Pod resources: {resources_words(res)}; {enforcement_words(res)}."
