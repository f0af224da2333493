"""scripts/collect_prometheus.sh against a real Prometheus server (Debian's prometheus).

The server's TSDB is backfilled with promtool from synthetic OpenMetrics whose rates,
quantiles and gauges are known by construction, so every series can be checked by value.
"""

import json
import os
import re
import sys
import shutil
import subprocess
import time
import urllib.request

import pytest
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
from knbench_proc import free_port  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "scripts", "collect_prometheus.sh")
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
READY_TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(not (PROMETHEUS and PROMTOOL),
                                reason="Debian prometheus/promtool not installed")

RUN_NAMES = [f"run_{w}_p{q}_ms" for q in (50, 95, 99)
             for w in ("worker", "driver", "driver_intended")]
BASE_NAMES = ["worker_rps", "worker_p50_ms", "worker_p95_ms", "worker_p99_ms", "driver_rps",
              "driver_target_rps", "driver_achieved_rps", "driver_p50_ms", "driver_p95_ms",
              "driver_p99_ms", "driver_intended_p50_ms", "driver_intended_p95_ms",
              "driver_intended_p99_ms", "worker_requests_by_status",
              "driver_requests_by_status", "worker_inflight", "driver_inflight",
              "process_cpu_cores", "process_rss_bytes", *RUN_NAMES, "pods"]
# Knative's autoscaler series: on a cluster, and from local_serving in local mode.
KN_NAMES = ["actual_pods", "desired_pods", "requested_pods", "not_ready_pods", "pending_pods",
            "terminating_pods", "panic_mode", "stable_concurrency", "panic_concurrency",
            "target_concurrency", "excess_burst_capacity"]
# Knative's HPA class (kube-state-metrics), and the pods' cgroups (cAdvisor and
# kube-state-metrics; local_serving exports the same names).
HPA_NAMES = ["hpa_desired_replicas", "hpa_current_replicas", "hpa_min_replicas",
             "hpa_max_replicas", "hpa_target_cpu_utilization", "hpa_cpu_utilization"]
POD_NAMES = ["pod_cpu_cores", "pod_cpu_throttled_ratio", "pod_cpu_utilization_percent",
             "pod_memory_working_set_bytes", "pod_cpu_request_cores", "pod_cpu_limit_cores"]
LOCAL_EXTRA = ["activator_in_path", "queued_requests"]
LOCAL_NAMES = BASE_NAMES + KN_NAMES + HPA_NAMES + POD_NAMES + LOCAL_EXTRA
CLUSTER_NAMES = BASE_NAMES + KN_NAMES + HPA_NAMES + POD_NAMES
GAUGES = {"driver_target_rps", "worker_inflight", "driver_inflight", "process_rss_bytes", "pods",
          *KN_NAMES, *HPA_NAMES, "pod_memory_working_set_bytes", "pod_cpu_request_cores",
          "pod_cpu_limit_cores", *LOCAL_EXTRA}
# The HPA "worker-00001" and the worker's pods, as collected; "other" and the pod-level
# and pause containers must not count.
HPA_EXPECT = {"hpa_desired_replicas": 3, "hpa_current_replicas": 2, "hpa_min_replicas": 1,
              "hpa_max_replicas": 5, "hpa_target_cpu_utilization": 70, "hpa_cpu_utilization": 85}
POD_EXPECT = {"pod_cpu_cores": 0.8, "pod_cpu_throttled_ratio": 0.25,
              "pod_cpu_utilization_percent": 100 * 0.8 / 1.025,
              "pod_memory_working_set_bytes": 85e6, "pod_cpu_request_cores": 1.025,
              "pod_cpu_limit_cores": 2}

# Timeline (seconds after T0): workers, driver, process metrics on 0..120 s, one sample/s.
# Worker b goes down at 60 s. Knative <=1.18 names on 0..59 s, >=1.19 names on 400..460 s
# (more than the 5 min lookback later, so the old series are stale by then).
DATA_END = 120
OLD_KN_END = 60
NEW_KN = (400, 461)

OLD_KN = {"actual_pods": 2, "desired_pods": 3, "requested_pods": 4, "panic_mode": 1,
          "stable_request_concurrency": 12.5, "panic_request_concurrency": 20.25,
          "excess_burst_capacity": -7, "not_ready_pods": 8, "pending_pods": 9,
          "terminating_pods": 10, "target_concurrency_per_pod": 7.5}
NEW_KN_VALUES = {"pods_count": 5, "pods_desired": 6, "pods_requested": 7, "panic_mode": 0,
                 "concurrency_stable": 3.5, "concurrency_panic": 4.75, "capacity_excess": 11,
                 "pods_not_ready_count": 12, "pods_pending_count": 13,
                 "pods_terminating_count": 14, "concurrency_target": 15}
# Each name: (Knative <=1.18 value, >=1.19 value), as collected.
KN_EXPECT = {"pods": (2, 5), "actual_pods": (2, 5), "desired_pods": (3, 6),
             "requested_pods": (4, 7), "panic_mode": (1, 0), "stable_concurrency": (12.5, 3.5),
             "panic_concurrency": (20.25, 4.75), "excess_burst_capacity": (-7, 11),
             "not_ready_pods": (8, 12), "pending_pods": (9, 13), "terminating_pods": (10, 14),
             "target_concurrency": (7.5, 15)}


def lbl(**kv):
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def openmetrics(t0):
    lines = []

    def series(name, labels, fn, times):
        for s in times:
            v = fn(s)
            if v is not None:
                lines.append(f"{name}{labels} {v} {t0 + s}")

    span = range(0, DATA_END + 1)
    for inst in ("a", "b"):
        w = dict(job="worker", instance=inst)
        series("up", lbl(**w), (lambda s: 1) if inst == "a" else (lambda s: 1 if s < 60 else 0),
               span)
        rate = 10 if inst == "a" else 5
        series("worker_requests_total", lbl(**w, status="success"), lambda s, r=rate: r * s, span)
        # Every observation falls in (64, 128] ms: p50 = 96, p95 = 124.8, p99 = 127.36.
        # (The coarse *_ms histograms are not queried: only the *_seconds ones are.)
        h = "worker_request_latency_seconds_bucket"
        series(h, lbl(**w, le="0.064"), lambda s: 0, span)
        series(h, lbl(**w, le="0.128"), lambda s, r=rate: r * s, span)
        series(h, lbl(**w, le="+Inf"), lambda s, r=rate: r * s, span)
        series("worker_inflight_requests", lbl(**w), lambda s, i=inst: 3 if i == "a" else 4, span)
        series("process_cpu_seconds_total", lbl(**w), lambda s, i=inst: (0.5 if i == "a" else 0.25)
               * s, span)
        series("process_resident_memory_bytes", lbl(**w), lambda s: 1_000_000, span)
    series("worker_requests_total", lbl(job="worker", instance="a", status="rejected"),
           lambda s: 1 * s, span)
    d = dict(job="load_driver", instance="driver")
    for status, rate in (("success", 14), ("failure", 1), ("dropped", 0.5)):
        series("load_driver_requests_total", lbl(**d, status=status), lambda s, r=rate: r * s, span)
    series("load_driver_target_rps", lbl(**d), lambda s: 16, span)
    # Driver latency in (128, 256] ms: p50 = 192, p95 = 249.6, p99 = 254.72.
    for le, rate in (("0.128", 0), ("0.256", 15), ("+Inf", 15)):
        series("load_driver_request_latency_seconds_bucket", lbl(**d, le=le),
               lambda s, r=rate: r * s, span)
    # Intended latency in (256, 512] ms until 110 s (p50 = 384, p99 = 509.44), then in
    # (512, 1024] (p50 = 768): a window after 110 s must count only those.
    for le, fn in (("0.256", lambda s: 0), ("0.512", lambda s: 15 * min(s, 110)),
                   ("1.024", lambda s: 15 * s), ("+Inf", lambda s: 15 * s)):
        series("load_driver_intended_latency_seconds_bucket", lbl(**d, le=le), fn, span)
    series("load_driver_inflight_requests", lbl(**d), lambda s: 7, span)
    series("process_cpu_seconds_total", lbl(**d), lambda s: 2 * s, span)
    series("process_resident_memory_bytes", lbl(**d), lambda s: 3_000_000, span)
    # Prometheus's own process metrics must not be reported.
    series("process_resident_memory_bytes", lbl(job="prometheus", instance="self"),
           lambda s: 9e9, span)

    old = dict(namespace_name="default", configuration_name="worker",
               revision_name="worker-00001", service_name="worker")
    other = dict(old, service_name="other", configuration_name="other",
                 revision_name="other-00001")
    for name, value in OLD_KN.items():
        series(f"autoscaler_{name}", lbl(**old), lambda s, v=value: v, range(0, OLD_KN_END))
        series(f"autoscaler_{name}", lbl(**other), lambda s: 100, range(0, OLD_KN_END))
    new = dict(k8s_namespace_name="default", kn_service_name="worker",
               kn_configuration_name="worker", kn_revision_name="worker-00002")
    for name, value in NEW_KN_VALUES.items():
        series(f"kn_revision_{name}", lbl(**new), lambda s, v=value: v, range(*NEW_KN))
        series(f"kn_revision_{name}", lbl(**dict(new, k8s_namespace_name="other")),
               lambda s: 100, range(*NEW_KN))
    hpa = dict(namespace="default", horizontalpodautoscaler="worker-00001")
    other_hpa = dict(hpa, horizontalpodautoscaler="other-00001")
    for name, value in (("status_desired_replicas", 3), ("status_current_replicas", 2),
                        ("spec_min_replicas", 1), ("spec_max_replicas", 5)):
        series(f"kube_horizontalpodautoscaler_{name}", lbl(**hpa), lambda s, v=value: v, span)
        series(f"kube_horizontalpodautoscaler_{name}", lbl(**other_hpa), lambda s: 100, span)
    for kind, cpu, memory in (("spec", 70, 64), ("status", 85, 50)):
        name = f"kube_horizontalpodautoscaler_{kind}_target_metric"
        series(name, lbl(**hpa, metric_name="cpu", metric_target_type="utilization"),
               lambda s, v=cpu: v, span)
        series(name, lbl(**hpa, metric_name="memory", metric_target_type="average"),
               lambda s, v=memory: v, span)
    # Pods a and b of worker, each with the worker and queue-proxy containers; cAdvisor's
    # pod-level ("") and pause ("POD") cgroups and another service's pod are left out.
    def pod(p, c, **more):
        return lbl(namespace="default", pod=f"worker-00001-deployment-{p}", container=c, **more)
    for labels, cpu in ((pod("a", "worker"), 0.4), (pod("a", "queue-proxy"), 0.1),
                        (pod("b", "worker"), 0.3), (pod("a", ""), 9), (pod("a", "POD"), 9),
                        (lbl(namespace="default", pod="other-00001-deployment-x",
                             container="worker"), 9)):
        series("container_cpu_usage_seconds_total", labels, lambda s, c=cpu: c * s, span)
    for labels, throttled in ((pod("a", "worker"), 2), (pod("b", "worker"), 3)):
        series("container_cpu_cfs_periods_total", labels, lambda s: 10 * s, span)
        series("container_cpu_cfs_throttled_periods_total", labels,
               lambda s, t=throttled: t * s, span)
    for labels, ws in ((pod("a", "worker"), 50e6), (pod("b", "worker"), 30e6),
                       (pod("a", "queue-proxy"), 5e6), (pod("a", ""), 999e6)):
        series("container_memory_working_set_bytes", labels, lambda s, v=ws: v, span)
    for labels, request, limit in ((pod("a", "worker"), 0.5, 1), (pod("b", "worker"), 0.5, 1),
                                   (pod("a", "queue-proxy"), 0.025, None)):
        series("kube_pod_container_resource_requests", labels[:-1] + ',resource="cpu",unit="core"}',
               lambda s, v=request: v, span)
        if limit is not None:
            series("kube_pod_container_resource_limits",
                   labels[:-1] + ',resource="cpu",unit="core"}', lambda s, v=limit: v, span)
        series("kube_pod_container_resource_requests",
               labels[:-1] + ',resource="memory",unit="byte"}', lambda s: 64e6, span)
    # local_serving's own gauges (local mode).
    ls = dict(job="local_serving", instance="ls")
    series("local_serving_activator_in_path", lbl(**ls), lambda s: 1 if s < 30 else 0,
           range(0, OLD_KN_END))
    series("local_serving_queued_requests", lbl(**ls), lambda s: 6, range(0, OLD_KN_END))
    # OpenMetrics wants each series' samples together and in time order: sort by series.
    lines.sort(key=lambda line: (line.rsplit(" ", 2)[0], float(line.rsplit(" ", 1)[1])))
    return "\n".join(lines) + "\n# EOF\n"


def wait_ready(url, proc, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    """A Prometheus 2.x on a free loopback port serving the backfilled synthetic TSDB."""
    base = tmp_path_factory.mktemp("prom")
    t0 = int(time.time()) - 3 * 3600  # recent enough for the default 15 d retention
    (base / "in.om").write_text(openmetrics(t0))
    data = base / "data"
    res = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics",
                          str(base / "in.om"), str(data)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr + res.stdout
    (base / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    proc = None
    for _ in range(3):  # the free port can be taken between the check and the bind
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(base / "prometheus.log", "w")
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={base / 'prometheus.yml'}",
             f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait_ready(url, proc, READY_TIMEOUT_S):
            break
        proc.terminate()
        proc.wait(timeout=30)
        proc = None
    assert proc is not None, (base / "prometheus.log").read_text()[-2000:]
    yield {"url": url, "t0": t0, "base": base}
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def collect(*args, timeout=120):
    return subprocess.run([SCRIPT, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def by_name(path):
    with open(path) as f:
        doc = json.load(f)
    assert isinstance(doc, list)
    return [e["name"] for e in doc], {e["name"]: e["result"] for e in doc}


def values_at(result, labels=None):
    """{t_offset_s: value} of the single series (or the one matching labels)."""
    assert result["status"] == "success"
    assert result["data"]["resultType"] == "matrix"
    series = result["data"]["result"]
    if labels is not None:
        series = [s for s in series if all(s["metric"].get(k) == v for k, v in labels.items())]
    assert len(series) == 1, series
    return {int(t): float(v) for t, v in series[0]["values"]}


def test_local_mode_series_values(prom, tmp_path):
    t0 = prom["t0"]
    out = tmp_path / "prometheus-20rps-10ms.json"
    res = collect(prom["url"], t0 + 10, t0 + 110, out, "--mode", "local")
    assert res.returncode == 0, res.stderr
    names, r = by_name(out)
    assert names == LOCAL_NAMES
    # Local defaults: step 1 s, rate window 3 s. rate() series start 3 s into the window
    # (their first window is exactly [START, START + 3 s]); gauges one step in.
    ts = range(t0 + 13, t0 + 111)

    def check(name, expected, labels=None, at=ts):
        got = values_at(r[name], labels)
        assert min(got) == (t0 + 11 if name in GAUGES else t0 + 13), name
        for t in at:
            assert got[t] == pytest.approx(expected, rel=1e-6), (name, labels, t - t0)

    check("worker_rps", 10 + 5 + 1)
    check("worker_p50_ms", 96)
    check("worker_p95_ms", 124.8)
    check("worker_p99_ms", 127.36)
    check("driver_rps", 15.5)
    check("driver_target_rps", 16)
    check("driver_achieved_rps", 15)
    check("driver_p50_ms", 192)
    check("driver_p95_ms", 249.6)
    check("driver_p99_ms", 254.72)
    check("driver_intended_p50_ms", 384)
    check("driver_intended_p95_ms", 499.2)
    check("driver_intended_p99_ms", 509.44)
    # Whole-window quantiles: one point at END.
    for name, want in (("run_worker_p50_ms", 96), ("run_worker_p99_ms", 127.36),
                       ("run_driver_p95_ms", 249.6), ("run_driver_intended_p50_ms", 384)):
        assert values_at(r[name]) == {t0 + 110: pytest.approx(want)}, name
    check("worker_requests_by_status", 15, {"status": "success"})
    check("worker_requests_by_status", 1, {"status": "rejected"})
    check("driver_requests_by_status", 0.5, {"status": "dropped"})
    check("worker_inflight", 7)
    check("driver_inflight", 7)
    check("process_cpu_cores", 0.5, {"job": "worker", "instance": "a"})
    check("process_cpu_cores", 0.25, {"job": "worker", "instance": "b"})
    check("process_cpu_cores", 2, {"job": "load_driver", "instance": "driver"})
    check("process_rss_bytes", 3e6, {"job": "load_driver", "instance": "driver"})
    assert len(r["process_rss_bytes"]["data"]["result"]) == 3  # not Prometheus's own
    # Local serving exports Knative's series: pods are its actual pods.
    check("pods", 2)
    for name, (old, _) in KN_EXPECT.items():
        check(name, old)
    for name, want in {**HPA_EXPECT, **POD_EXPECT}.items():
        check(name, want)
    check("activator_in_path", 1, at=range(t0 + 11, t0 + 30))
    check("activator_in_path", 0, at=range(t0 + 30, t0 + 60))
    check("queued_requests", 6, at=range(t0 + 11, t0 + 60))


def test_local_mode_fixed_pods_count_workers_up(prom, tmp_path):
    """With no autoscaler series (fixed pods), local pods are the workers Prometheus scraped:
    worker b is down from 60 s; the old Knative series are stale after 59 + 300 s."""
    t0 = prom["t0"]
    out = tmp_path / "p.json"
    res = collect(prom["url"], t0 + 365, t0 + 399, out, "--mode", "local")
    assert res.returncode == 0, res.stderr
    names, r = by_name(out)
    assert names == LOCAL_NAMES
    assert set(values_at(r["pods"]).values()) == {1}
    assert r["actual_pods"]["data"]["result"] == []


def test_whole_window_quantiles_count_only_the_window(prom, tmp_path):
    """run_* series: the buckets' increase over [START, END] when the series existed at START,
    the series itself when it did not (a driver process started for the run)."""
    t0 = prom["t0"]
    out = tmp_path / "p.json"
    res = collect(prom["url"], t0 + 112, t0 + 120, out, "--mode", "local")
    assert res.returncode == 0, res.stderr
    _, r = by_name(out)
    # Only the (512, 1024] observations after 110 s: p50 768 (the cumulative buckets give ~384).
    assert values_at(r["run_driver_intended_p50_ms"]) == {t0 + 120: pytest.approx(768)}
    assert values_at(r["run_driver_intended_p99_ms"]) == {t0 + 120: pytest.approx(1018.88)}
    # A window that starts before the series existed: everything since they began.
    res = collect(prom["url"], t0 - 30, t0 + 50, out, "--mode", "local")
    assert res.returncode == 0, res.stderr
    _, r = by_name(out)
    assert values_at(r["run_driver_intended_p50_ms"]) == {t0 + 50: pytest.approx(384)}
    assert values_at(r["run_worker_p95_ms"]) == {t0 + 50: pytest.approx(124.8)}


def test_whole_window_quantiles_count_series_gone_before_the_end(prom, tmp_path):
    """A driver stopped after its final scrape, a pod scaled down: their series end before END
    (here more than the 5 min lookback before it) and still count, from START on."""
    t0 = prom["t0"]
    out = tmp_path / "p.json"
    res = collect(prom["url"], t0 + 100, t0 + 430, out, "--mode", "local", "--step", "10s")
    assert res.returncode == 0, res.stderr
    _, r = by_name(out)
    # 100..110 s: 150 observations in (256, 512] ms; 110..120 s: 150 in (512, 1024] ms.
    assert values_at(r["run_driver_intended_p50_ms"]) == {t0 + 430: pytest.approx(512)}
    assert values_at(r["run_driver_intended_p99_ms"]) == {t0 + 430: pytest.approx(1013.76)}
    assert values_at(r["run_worker_p50_ms"]) == {t0 + 430: pytest.approx(96)}


def test_no_query_reaches_before_the_window(prom, tmp_path):
    """Each point's rate window (and each gauge's sample) lies inside [START, END]."""
    t0 = prom["t0"]
    out = tmp_path / "p.json"
    res = collect(prom["url"], t0 + 20.5, t0 + 50, out, "--mode", "cluster", "--step", "10s",
                  "--rate-window", "15s")
    assert res.returncode == 0, res.stderr
    with open(out) as f:
        doc = json.load(f)
    for e in doc:
        pts = [float(t) for s in e["result"]["data"]["result"] for t, _ in s["values"]]
        if e["name"].startswith("run_"):
            assert "offset 29500ms" in e["query"], e
            want = t0 + 50  # one point at END over the whole window
        elif e["name"] in GAUGES:
            # No range selector (label values such as =~"worker-[0-9]+" aside).
            assert "[" not in re.sub(r'"(?:[^"\\]|\\.)*"', '""', e["query"]), e
            want = t0 + 30.5  # one step in
        else:
            assert "[15s]" in e["query"], e
            want = t0 + 35.5  # START + rate window: the first window is [START, START + 15 s]
        if pts:
            assert min(pts) == pytest.approx(want), e["name"]
            assert max(pts) <= t0 + 50
    # A window shorter than the rate window: one point at END, window shrunk to the run.
    res = collect(prom["url"], t0 + 20, t0 + 22.5, out, "--mode", "local", "--rate-window", "5s")
    assert res.returncode == 0, res.stderr
    with open(out) as f:
        doc = {e["name"]: e for e in json.load(f)}
    assert "[2500ms]" in doc["worker_rps"]["query"]
    assert values_at(doc["worker_rps"]["result"]) == {t0 + 22: pytest.approx(16)}


def test_cluster_mode_old_and_new_knative_names(prom, tmp_path):
    t0 = prom["t0"]
    out = tmp_path / "p.json"
    res = collect(prom["url"], t0, t0 + 460, out, "--mode", "cluster", "--step", "10s")
    assert res.returncode == 0, res.stderr
    names, r = by_name(out)
    assert names == CLUSTER_NAMES
    old_at, new_at = range(t0 + 10, t0 + 60, 10), range(t0 + 400, t0 + 461, 10)
    for name, (old, new) in KN_EXPECT.items():
        got = values_at(r[name])
        for t in old_at:
            assert got[t] == pytest.approx(old), (name, t - t0)
        for t in new_at:
            assert got[t] == pytest.approx(new), (name, t - t0)
    # Cluster defaults: 1 m rate window still sees the 0..120 s worker data.
    assert values_at(r["worker_rps"])[t0 + 100] == pytest.approx(16)
    for name, want in {**HPA_EXPECT, **POD_EXPECT}.items():
        assert values_at(r[name])[t0 + 100] == pytest.approx(want), name


def test_cluster_service_filter(prom, tmp_path):
    t0 = prom["t0"]
    out = tmp_path / "p.json"
    res = collect(prom["url"], t0 + 10, t0 + 50, out, "--service", "other", "--step", "10s")
    assert res.returncode == 0, res.stderr
    _, r = by_name(out)
    assert set(values_at(r["desired_pods"]).values()) == {100}
    assert set(values_at(r["hpa_desired_replicas"]).values()) == {100}
    assert all(v == pytest.approx(9) for v in values_at(r["pod_cpu_cores"]).values())


def test_unreachable_prometheus_fails_without_output(tmp_path):
    out = tmp_path / "out.json"
    res = collect(f"http://127.0.0.1:{free_port()}", 1000, 2000, out, "--mode", "local",
                  timeout=60)
    assert res.returncode == 1
    assert "cannot reach Prometheus" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []  # no output, no temp file left


def test_error_response_fails_and_keeps_old_output(prom, tmp_path):
    out = tmp_path / "out.json"
    out.write_text("previous\n")
    # Units out of order: our check lets it through, Prometheus's duration parser does not.
    res = collect(prom["url"], prom["t0"], prom["t0"] + 100, out, "--mode", "local",
                  "--rate-window", "1s1m")
    assert res.returncode == 1
    assert "status 'error'" in res.stderr and "bad_data" in res.stderr
    assert out.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]
    # Too many points per series is an error answer too.
    res = collect(prom["url"], prom["t0"], prom["t0"] + 100000, out, "--step", "1s")
    assert res.returncode == 1 and "11,000 points" in res.stderr


def test_non_prometheus_answer_is_an_error(prom, tmp_path):
    # The server's UI path answers 200 with HTML, not an API response.
    out = tmp_path / "out.json"
    res = collect(prom["url"] + "/graph", prom["t0"], prom["t0"] + 100, out)
    assert res.returncode == 1
    assert not out.exists()


@pytest.mark.parametrize("args,message", [
    ([], "expected PROM_URL START_EPOCH END_EPOCH OUT_JSON"),
    (["http://x", "10", "5", "o.json"], "must be after START_EPOCH"),
    (["http://x", "abc", "5", "o.json"], "START_EPOCH must be Unix seconds"),
    (["x", "1", "5", "o.json"], "PROM_URL must start with http"),
    (["http://x", "1", "5", "o.json", "--mode", "k8s"], "--mode must be local or cluster"),
    (["http://x", "1", "5", "o.json", "--bogus"], "unknown option --bogus"),
    (["http://x", "1", "5", "o.json", "--service", 'a"b'], "--service has unexpected"),
    (["http://x", "1", "5", "o.json", "--rate-window", "5x"], "--rate-window must be"),
    (["http://x", "1", "5", "o.json", "--rate-window", "5"], "--rate-window must be"),
    (["http://x", "1", "5", "o.json", "--step", "0s"], "must be positive"),
])
def test_bad_arguments(args, message, tmp_path):
    res = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=30,
                         cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_help():
    res = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0
    for word in ("PROM_URL", "--mode", "--step", "--rate-window", *LOCAL_NAMES):
        assert word in res.stdout
