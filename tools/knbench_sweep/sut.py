"""The system under test, as a value: what a backend brings up and the report names.

A sweep holds a list of them: one by default (the manifest's own class), or one per
autoscaler class with --autoscalers kpa,hpa, each with its own manifest and serving
arguments (local) or kustomize directory (cluster), run one after the other on the same
grid, each into its own sweep directory."""

import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from . import manifests
from .console import UsageError
from .kube import Kubectl
from .options import ROOT

BASE_MANIFEST = os.path.join(ROOT, "deploy", "base", "worker", "knative-service.yaml")
# What `kubectl apply -k` deploys for each class on a cluster (deploy/ is the base with
# the images set, as scripts/deploy_all.sh applies it).
CLUSTER_DIRS = {"kpa": os.path.join(ROOT, "deploy"),
                "hpa": os.path.join(ROOT, "deploy", "overlays", "hpa")}
HPA_OVERLAY = CLUSTER_DIRS["hpa"]


@dataclass(frozen=True)
class SystemUnderTest:
    kind: str  # "local serving" | "fixed pods" | "cluster"
    autoscaler_class: str  # "kpa" | "hpa" | "none" (fixed pods) | "live" (the cluster's own)
    manifest: Optional[str] = None  # the Knative Service YAML of its autoscaling settings
    serving_args: Tuple[str, ...] = field(default_factory=tuple)  # local_serving flags
    pods: Optional[int] = None  # fixed pods: how many
    # Where the manifest came from, in words, when it is not a file the user named.
    manifest_source: str = ""
    # Cluster, --autoscalers: the kustomize directory applied before the class's runs.
    deploy_dir: Optional[str] = None
    # --autoscalers: the class is checked against what local serving resolves.
    chosen: bool = False

    @property
    def model_manifest(self) -> str:
        """The manifest the KPA model replays when the system's own settings are not
        known (fixed pods: what Knative would have done; cluster: the base manifest)."""
        return self.manifest or BASE_MANIFEST


def render_hpa_manifest(kubectl: List[str], out_dir: str) -> str:
    """deploy/overlays/hpa rendered with kubectl kustomize: its Knative Service, in
    out_dir; the file's path. UsageError when it cannot be rendered."""
    kube = Kubectl(kubectl)
    if not kube.found():
        raise UsageError("the hpa class's manifest is deploy/overlays/hpa rendered with "
                         f"'{' '.join(kube.command)} kustomize', and kubectl was not found: "
                         "install it, set KUBECTL, or give --hpa-manifest FILE")
    out = os.path.join(out_dir, "knative-service-hpa.yaml")
    try:
        manifests.write_knative_service(kube, HPA_OVERLAY, out)
    except manifests.RenderError as e:
        raise UsageError(f"cannot render the hpa class's manifest: {e}")
    return out


def _local(settings, cls: str, work_dir: Optional[Callable[[], str]]) -> SystemUnderTest:
    if cls == "kpa":
        return SystemUnderTest("local serving", "kpa", manifest=settings.manifest,
                               serving_args=tuple(settings.serving_args), chosen=True)
    if settings.hpa_manifest:
        manifest, source = settings.hpa_manifest, ""
    elif work_dir is None:
        raise ValueError("systems() needs a work_dir to render the hpa class's manifest")
    else:
        manifest = render_hpa_manifest(settings.kubectl, work_dir())
        source = "deploy/overlays/hpa (rendered by kubectl kustomize)"
    return SystemUnderTest("local serving", "hpa", manifest=manifest,
                           serving_args=tuple(settings.hpa_serving_args),
                           manifest_source=source, chosen=True)


def systems(settings, work_dir: Optional[Callable[[], str]] = None) -> List[SystemUnderTest]:
    """The systems the sweep runs its grid against, in order. work_dir() is a directory
    for what is made for them (the hpa class's rendered manifest), kept while the sweep
    runs; only asked for when needed."""
    classes = settings.autoscalers or []
    if settings.mode == "cluster":
        if not classes:
            return [SystemUnderTest("cluster", "live")]
        return [SystemUnderTest("cluster", c, deploy_dir=CLUSTER_DIRS[c], chosen=True)
                for c in classes]
    if settings.local_pods:
        return [SystemUnderTest("fixed pods", "none", manifest=settings.manifest,
                                pods=settings.local_pods)]
    if not classes:
        return [SystemUnderTest("local serving", "kpa", manifest=settings.manifest,
                                serving_args=tuple(settings.serving_args))]
    return [_local(settings, c, work_dir) for c in classes]
