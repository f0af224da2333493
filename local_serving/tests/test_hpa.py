"""local_serving under Knative's HPA class, end to end: the real binary with
the HPA overlay's manifest and shortened periods, real worker processes
spinning by CPU time inside their cgroups' 1-CPU limit, the real load
driver, kpa_model's replay and a real Prometheus, on loopback.

One run (idle, CPU-heavy load, idle again) is shared by the tests that check
each of its parts; a Prometheus scrapes it throughout. As root on writable
cgroups (as CI runs). Run by ctest with LOCAL_SERVING_BIN, WORKER_BIN,
DRIVER_BIN and KPA_MODEL_BIN set.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from serving_proc import (ROOT, Prometheus, Serving, assert_replay_is_live, read_csv,
                          wait_until)

sys.path.insert(0, os.path.join(ROOT, "deploy", "tests"))
import dashboard_exprs  # noqa: E402

DRIVER = os.environ["DRIVER_BIN"]
FIXTURE = os.path.join(ROOT, "autoscaler_model", "tests", "fixtures", "worker-service-hpa.yaml")
# The overlay's HPA: CPU 70 % of a 500m request, 1 to 3 pods, 1-CPU limit.
# Shortened: metrics and syncs every 2 s, a 6 s stabilization window.
SETTINGS = ["--metric-resolution=2s", "--horizontal-pod-autoscaler-sync-period=2s",
            "--window=6s"]
# 8 calls a second of 100 ms of CPU: 0.8 cores, 160 % of one pod's request.
LOAD = "8@20s"
SPIN_MS = 100


def manifest(tmp):
    """`kubectl kustomize deploy/overlays/hpa` where kubectl is installed
    (scripts/install_deps.sh says when it is not), else its rendered copy."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return FIXTURE
    rendered = subprocess.run([kubectl, "kustomize", os.path.join(ROOT, "deploy", "overlays",
                                                                  "hpa")],
                              check=True, capture_output=True, text=True, timeout=60).stdout
    path = os.path.join(str(tmp), "hpa.yaml")
    with open(path, "w") as f:
        f.write(rendered)
    return path


def hpa_row_exprs():
    """The expressions of the dashboard's "Knative HPA class" row, variables
    substituted."""
    with open(dashboard_exprs.DEFAULT_DASHBOARD) as f:
        dashboard = json.load(f)
    variables = dashboard_exprs.template_defaults(dashboard)
    variables.update({"__rate_interval": "1m", "__interval": "1m", "__range": "1m"})
    exprs, in_row = [], False
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":  # a collapsed row holds its panels
            in_row = panel.get("title", "").startswith("Knative HPA class")
            members = panel.get("panels", []) if in_row else []
        else:
            members = [panel] if in_row else []
        for p in members:
            exprs += [dashboard_exprs.substitute(t["expr"], variables)
                      for t in p.get("targets", []) if t.get("expr")]
    return exprs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hpa")
    serving = Serving(tmp, f"--from-manifest={manifest(tmp)}", *SETTINGS,
                      "--pod-start-delay=1s", "--worker-arg=--spin-clock=cpu",
                      "--worker-arg=--spin-nice=0")
    prom = Prometheus(tmp, f"""  - job_name: local_serving
    honor_labels: true
    static_configs:
      - targets: ['{serving.metrics_url[7:]}']
""")
    try:
        wait_until(lambda: serving.state()["ready"] == 1, 20, "the first pod")
        out = os.path.join(serving.tmp, "load.csv")
        driver = subprocess.Popen(
            [DRIVER, f"--target={serving.target}", f"--spin-ms={SPIN_MS}",
             f"--schedule={LOAD}", f"--out={out}", f"--summary={out}.json",
             "--bind=127.0.0.1", "--metrics-port=0", "--progress-interval=1h"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = {"min_requested": serving.state()["requested"], "scaled_up": None}

        def watch(done):
            st = serving.state()
            seen["min_requested"] = min(seen["min_requested"], st["requested"])
            if st["ready"] >= 2 and seen["scaled_up"] is None:
                seen["scaled_up"] = st
            return done(st)
        wait_until(lambda: watch(lambda st: st["ready"] >= 2), 25, "a scale-up")
        assert driver.wait(timeout=60) == 0
        # Idle: back to one pod once the window has passed, never to zero.
        wait_until(lambda: watch(lambda st: st["requested"] == 1 and st["ready"] == 1
                                 and st["terminating"] == 0), 40, "the scale-down to 1")

        def unanswered():
            return [e for e in hpa_row_exprs() if not prom.query(e)]
        try:
            wait_until(lambda: not unanswered(), 30, "Prometheus to answer the HPA row")
        except AssertionError:
            pass  # the test says which
        # Asked while local_serving still serves: once it stops, a failed
        # scrape marks its series stale and instant queries return nothing.
        missing = unanswered()
        # The HPA's status has the current replicas of its sync: the one
        # after the scale-down's.
        wait_until(lambda: serving.metric(
            "kube_horizontalpodautoscaler_status_current_replicas") == 1, 10,
            "a sync at one pod")
        metrics = serving.get("/metrics")
        serving.stop()
        yield {"serving": serving, "seen": seen, "metrics": metrics, "rows": read_csv(out),
               "decisions": read_csv(serving.decisions), "unanswered": missing}
    finally:
        prom.stop()
        serving.stop()


def test_cpu_load_scales_one_to_n_and_back_to_one_never_zero(run):
    assert {r["status"] for r in run["rows"]} == {"success"}
    desired = [int(d["desired_pods"]) for d in run["decisions"]]
    peak = desired.index(max(desired))
    assert max(desired) >= 2, desired
    assert desired[0] == 1 and desired[-1] == 1, desired
    assert min(desired) == 1 and run["seen"]["min_requested"] == 1
    # Up on CPU utilization above the 70 % target, down once it was gone
    # for the 6 s window.
    up = run["decisions"][peak]
    assert up["calculation"] == "scale" and int(up["utilization_percent"]) > 77, up
    down = next(d for d in run["decisions"][peak:] if d["desired_pods"] == "1")
    assert down["calculation"] == "scale" and int(down["utilization_percent"]) < 63, down


def test_each_pod_sits_in_a_cgroup_with_the_manifests_cpu_limit(run):
    pods = run["seen"]["scaled_up"]["pods"]
    assert len(pods) >= 2
    for pod in pods:
        if pod["phase"] == "pending":
            continue
        assert pod["cgroup"]["cpu_quota_us"] == 100000, pod  # limits.cpu "1"
        assert pod["cgroup"]["cpu_period_us"] == 100000
    resources = run["seen"]["scaled_up"]["pod_resources"]
    assert resources["cpu_request_millicores"] == 500
    assert resources["limits_enforced"] in ("v1", "v2"), resources
    assert run["seen"]["scaled_up"]["class"] == "hpa"
    assert run["seen"]["scaled_up"]["idle_pods"] == 1


def test_kube_state_metrics_and_cadvisor_series_are_exported(run):
    text = run["metrics"]
    labels = 'horizontalpodautoscaler="worker-00001",namespace="default"'
    for name, value in (("spec_min_replicas", "1"), ("spec_max_replicas", "3"),
                        ("status_desired_replicas", "1"), ("status_current_replicas", "1")):
        assert f"kube_horizontalpodautoscaler_{name}{{{labels}}} {value}\n" in text, name
    assert ('kube_horizontalpodautoscaler_spec_target_metric{horizontalpodautoscaler='
            '"worker-00001",metric_name="cpu",metric_target_type="utilization",'
            'namespace="default"} 70\n') in text
    assert 'kube_horizontalpodautoscaler_status_target_metric{' in text
    for name in ("container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total",
                 "container_cpu_cfs_throttled_periods_total",
                 "container_memory_working_set_bytes", "kube_pod_container_resource_requests",
                 "kube_pod_container_resource_limits", "autoscaler_desired_pods",
                 "autoscaler_actual_pods"):
        assert f"\n{name}{{" in text, name
    # Knative's autoscaler decides nothing for an HPA revision.
    assert "autoscaler_panic_mode" not in text


def test_live_decisions_equal_kpa_models_replay(run):
    serving = run["serving"]
    assert_replay_is_live(serving, f"--from-manifest={manifest(serving.tmp)}", *SETTINGS)


def test_the_dashboards_hpa_row_answers_from_prometheus(run):
    """A real Prometheus scraping local serving (honor_labels, so the pods'
    own pod and namespace labels stay) returns data for every expression of
    the dashboard's HPA row."""
    exprs = hpa_row_exprs()
    assert len(exprs) >= 6, exprs
    assert any("kube_horizontalpodautoscaler_status_desired_replicas" in e for e in exprs)
    assert any("container_cpu_cfs_throttled_periods_total" in e for e in exprs)
    assert run["unanswered"] == []
