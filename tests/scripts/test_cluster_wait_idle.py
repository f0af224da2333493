"""The cluster backend's wait between runs (ClusterBackend.wait_idle), against a stand-in
kubectl whose worker pod count drops by one per listing (fakes/kubectl_pods): it returns
once the pods are back at min-scale (HPA: at least 1), gives up after
CLUSTER_IDLE_TIMEOUT, reports a kubectl that cannot list pods, and keeps max(gap, the
KPA stable window) after the previous run. (Formerly cluster_wait_idle_test.sh, which
sourced the bash backend: the same scenarios, driving the Python backend.)"""
import json
import os
import time

import pytest

from conftest import FAKES
from knbench_sweep import settings
from knbench_sweep.cluster import ClusterBackend, idle_and_window
from knbench_sweep.sut import systems


@pytest.mark.parametrize("annotations,want", [
    ({"autoscaling.knative.dev/window": "1h"}, (0, 3600)),  # Knative's maximum
    ({"autoscaling.knative.dev/window": "1m30s"}, (0, 90)),
    ({"autoscaling.knative.dev/min-scale": "2", "autoscaling.knative.dev/window": "6s"}, (2, 6)),
    ({"autoscaling.knative.dev/minScale": "1"}, (1, 60)),
    ({"autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev"}, (1, 60)),
    ({}, (0, 60))])
def test_idle_pods_and_stable_window_from_the_annotations(annotations, want):
    assert idle_and_window(annotations) == want


@pytest.fixture
def scenario(tmp_path, prometheus, monkeypatch):
    """scenario(annotations, pods, floor, **env) -> a set-up backend (torn down after)."""
    made = []

    def make(annotations, pods, floor, **env):
        for name, value in (("annotations", json.dumps(annotations)), ("pods", pods),
                            ("floor", floor)):
            (tmp_path / name).write_text(str(value))
        for name in ("calls", "pods_fail"):
            if (tmp_path / name).exists():
                (tmp_path / name).unlink()
        env = dict({"KUBECTL": os.path.join(FAKES, "kubectl_pods"), "CLUSTER_IDLE_POLL": "0.1",
                    "PROM_URL": prometheus}, **env)
        s = settings.resolve(["--mode", "cluster"], env)
        b = ClusterBackend(s, systems(s)[0])
        b.setup()
        made.append(b)
        return b
    monkeypatch.setenv("FAKE_STATE", str(tmp_path))
    yield make
    for b in made:
        b.teardown()


def listings(tmp_path):
    return sum(1 for x in (tmp_path / "calls").read_text().splitlines()
               if x.startswith("get pods"))


def test_back_at_min_scale(scenario, tmp_path):
    assert scenario({"autoscaling.knative.dev/min-scale": "1"}, 3, 0).wait_idle(1)
    assert listings(tmp_path) == 3  # 3 -> 2 -> 1


def test_back_at_zero(scenario, tmp_path):
    assert scenario({}, 2, 0).wait_idle(1)
    assert listings(tmp_path) == 3  # 2 -> 1 -> 0


def test_hpa_never_goes_below_one_pod(scenario, tmp_path):
    assert scenario({"autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev"}, 2,
                    1).wait_idle(1)
    assert listings(tmp_path) == 2


def test_pods_that_never_go_are_bounded_by_the_timeout(scenario, capsys):
    b = scenario({}, 2, 2, CLUSTER_IDLE_TIMEOUT="1")
    t0 = time.monotonic()
    assert not b.wait_idle(1)
    assert time.monotonic() - t0 < 10
    assert "the worker still has 2 pod(s) after 1s (idle: 0)" in capsys.readouterr().err


def test_a_kubectl_that_may_not_list_pods_is_reported_at_once(scenario, tmp_path, capsys):
    b = scenario({}, 2, 0)
    (tmp_path / "pods_fail").touch()
    assert not b.wait_idle(1)
    err = capsys.readouterr().err
    assert "cannot list the worker's pods" in err and "Forbidden" in err


@pytest.mark.parametrize("window,gap", [("2s", 1), ("1s", 2)])
def test_after_a_run_the_longer_of_gap_and_stable_window(scenario, window, gap):
    b = scenario({"autoscaling.knative.dev/window": window}, 0, 0)
    b.last_end = time.time()
    t0 = time.monotonic()
    assert b.wait_idle(gap)
    assert 1.9 <= time.monotonic() - t0 < 5
