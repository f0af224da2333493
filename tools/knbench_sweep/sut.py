"""The system under test, as a value: what a backend brings up and the report names.

A sweep holds a list of them (today one); comparing autoscaler classes on the same grid
(--autoscalers kpa,hpa) will hold one per class, each with its own manifest and serving
arguments, run by the same backend into one report."""

import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .options import ROOT

BASE_MANIFEST = os.path.join(ROOT, "deploy", "base", "worker", "knative-service.yaml")


@dataclass(frozen=True)
class SystemUnderTest:
    kind: str  # "local serving" | "fixed pods" | "cluster"
    autoscaler_class: str  # "kpa" | "none" (fixed pods) | "live" (the cluster's own)
    manifest: Optional[str] = None  # the Knative Service YAML of its autoscaling settings
    serving_args: Tuple[str, ...] = field(default_factory=tuple)  # local_serving flags
    pods: Optional[int] = None  # fixed pods: how many

    @property
    def model_manifest(self) -> str:
        """The manifest the KPA model replays when the system's own settings are not
        known (fixed pods: what Knative would have done; cluster: the base manifest)."""
        return self.manifest or BASE_MANIFEST


def systems(settings) -> List[SystemUnderTest]:
    """The systems the sweep runs its grid against."""
    if settings.mode == "cluster":
        return [SystemUnderTest("cluster", "live")]
    if settings.local_pods:
        return [SystemUnderTest("fixed pods", "none", manifest=settings.manifest,
                                pods=settings.local_pods)]
    return [SystemUnderTest("local serving", "kpa", manifest=settings.manifest,
                            serving_args=tuple(settings.serving_args))]
