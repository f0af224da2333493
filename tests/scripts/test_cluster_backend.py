"""The cluster backend (knbench_sweep.cluster) against deploy/tests/fake_kubectl.sh (it
records every call and serves results like the API server's pod proxy) and a stand-in
Prometheus: one run's Job, its results fetched summary first, the Job deleted whatever
happens, no kubectl exec; clear errors without kubectl or a cluster."""
import csv
import os

import pytest

from conftest import ROOT
from knbench_sweep import settings
from knbench_sweep.cluster import ClusterBackend
from knbench_sweep.console import RunFailed, UsageError
from knbench_sweep.plan import build_plan
from knbench_sweep.sut import systems

FAKE = os.path.join(ROOT, "deploy", "tests", "fake_kubectl.sh")


@pytest.fixture
def cluster(tmp_path, monkeypatch, prometheus):
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "kubectl.log"))
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(tmp_path / "state"))
    made = []

    def make(**env):
        for k in [k for k in env if k.startswith("FAKE_")]:  # for the fake kubectl itself
            monkeypatch.setenv(k, env.pop(k))
        s = settings.resolve(["--mode", "cluster", "--duration", "60s", "--warmup", "10"],
                             dict({"KUBECTL": FAKE, "PROM_URL": prometheus}, **env))
        b = ClusterBackend(s, systems(s)[0])
        made.append(b)
        return b
    yield make
    for b in made:
        b.teardown()


def kubectl_log(tmp_path):
    return (tmp_path / "kubectl.log").read_text().splitlines()


def test_one_run_creates_fetches_and_deletes_its_job(cluster, tmp_path):
    b = cluster()
    b.setup()
    out, summ = tmp_path / "r.csv", tmp_path / "s.json"
    b.run(build_plan([10], [100], 1)[0], str(out), str(summ))
    assert next(csv.reader(open(out)))[:4] == ["timestamp_ms", "rps", "spin_ms", "seq"]
    assert '"scheduled"' in summ.read_text()
    calls = kubectl_log(tmp_path)
    job = next(c.split("job-", 1)[1][:-len(".yaml")] for c in calls if c.startswith("create "))
    job = "load-driver-" + job
    raw = [c for c in calls if "--raw" in c]
    assert raw == [f"get --raw /api/v1/namespaces/default/pods/{job}-abcde:2113/proxy/summary.json",
                   f"get --raw /api/v1/namespaces/default/pods/{job}-abcde:2113/proxy/results.csv"]
    manifest = (tmp_path / "state" / f"{job}.yaml").read_text()
    for arg in ("--rps=10", "--spin-ms=100", "--duration=60s", "--warmup=10s", "--linger=30m"):
        assert arg in manifest
    assert (tmp_path / "state" / "deleted").read_text().split() == [job]
    assert (tmp_path / "state" / "jobs").read_text().strip() == ""
    assert not any(c.startswith("exec") for c in calls)
    assert b.describe()["driver_flags"] == "Job template deploy/sweep"


def test_a_failed_job_fails_the_run_and_is_deleted(cluster, tmp_path, capsys):
    b = cluster(FAKE_KUBECTL_JOB="fail")
    b.setup()
    with pytest.raises(RunFailed):
        b.run(build_plan([10], [100], 1)[0], str(tmp_path / "r.csv"), str(tmp_path / "s.json"))
    assert "failed; last driver log lines" in capsys.readouterr().err
    assert (tmp_path / "state" / "deleted").read_text().strip()
    assert not (tmp_path / "r.csv").exists() and b.jobs == []


def test_teardown_deletes_a_job_an_interrupted_run_left(cluster, tmp_path, capsys):
    b = cluster()
    b.setup()
    b.jobs.append("load-driver-left")
    b.teardown()
    assert "deleting Job load-driver-left left by an interrupted run" in capsys.readouterr().err
    assert "load-driver-left" in (tmp_path / "state" / "deleted").read_text().split()


def test_clear_errors_without_kubectl_or_a_cluster(cluster):
    with pytest.raises(UsageError, match="^kubectl not found"):
        cluster(KUBECTL="/nonexistent/kubectl").setup()
    with pytest.raises(UsageError, match="^cannot reach a Kubernetes cluster with"):
        cluster(FAKE_KUBECTL_CLUSTER="down").setup()


def test_parallel_drivers_use_the_indexed_job(cluster, tmp_path):
    b = cluster(CLUSTER_DRIVER_PODS="4")
    b.setup()
    job = b.render("10rps-100ms-1", 10, 100, str(tmp_path / "j.yaml"), "60s", "10s", "30m")
    assert job == "load-driver-par-10rps-100ms-1"
    text = (tmp_path / "j.yaml").read_text()
    assert "--rps=2.5" in text and "completions: 4" in text and "--arrivals=poisson" in text
    assert "Poisson arrivals" in b.describe()["driver_flags"]
