"""Pods with real resources, end to end: the real local_serving binary puts
each pod in a cgroup holding the manifest's limits, exports the cgroups'
series under cAdvisor's and kube-state-metrics' names, restarts a pod the
kernel OOM-killed with reason OOMKilled, and leaves no cgroup behind.

As root on writable cgroups (v1 here and in CI; a delegated v2 subtree
works too): without them these tests fail and say why, as the cgroups
library's own real tests do. Run by ctest with LOCAL_SERVING_BIN,
WORKER_BIN and MEMORY_HOG_BIN set.
"""
import os
import signal

from serving_proc import ROOT, Serving, pid_alive, wait_until

MEMORY_HOG = os.environ["MEMORY_HOG_BIN"]
MANIFEST = os.path.join(ROOT, "deploy", "base", "worker", "knative-service.yaml")
MIB = 1 << 20


def read(path):
    with open(path) as f:
        return f.read().strip()


def limits_enforced(serving):
    enforced = serving.state()["pod_resources"]["limits_enforced"]
    assert enforced in ("v1", "v2"), (
        f"needs writable cgroups (v1 cpu, cpuacct, memory or a delegated v2 subtree), "
        f"as root: {enforced}")
    return enforced


def cgroup_files(version, pod):
    """The kernel's files for the pod's CPU quota and period, shares (or
    weight) and memory limit, as {name: text}."""
    dirs = pod["cgroup"]["dirs"]
    if version == "v2":
        return {"cpu.max": read(f"{dirs[0]}/cpu.max"),
                "cpu.weight": read(f"{dirs[0]}/cpu.weight"),
                "memory.max": read(f"{dirs[0]}/memory.max"),
                "procs": read(f"{dirs[0]}/cgroup.procs")}
    cpu = next(d for d in dirs if "/cpu/" in d or "/cpu,cpuacct/" in d)
    memory = next(d for d in dirs if "/memory/" in d)
    return {"cpu.cfs_quota_us": read(f"{cpu}/cpu.cfs_quota_us"),
            "cpu.cfs_period_us": read(f"{cpu}/cpu.cfs_period_us"),
            "cpu.shares": read(f"{cpu}/cpu.shares"),
            "memory.limit_in_bytes": read(f"{memory}/memory.limit_in_bytes"),
            "procs": read(f"{cpu}/cgroup.procs")}


def samples(text, name):
    """{pod: value} of the series `name` in a /metrics text."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels = line[line.index("{") + 1:line.rindex("}")]
            pod = next(kv.split("=", 1)[1].strip('"') for kv in labels.split(",")
                       if kv.startswith("pod="))
            out[pod] = float(line.rsplit(" ", 1)[1])
    return out


def test_each_pod_has_the_manifests_limits_and_cadvisors_series(tmp_path):
    # The manifest: requests 500m and 64Mi, limits 1 CPU and 256Mi; the flag
    # gives a CPU limit of 750m instead.
    serving = Serving(tmp_path, f"--from-manifest={MANIFEST}", "--min-scale=2",
                      "--initial-scale=2", "--pod-start-delay=0s", "--pod-cpu-limit=750m")
    try:
        wait_until(lambda: serving.state()["ready"] == 2, 20, "two ready pods")
        version = limits_enforced(serving)
        pods = serving.state()["pods"]
        for pod in pods:
            files = cgroup_files(version, pod)
            if version == "v2":
                assert files["cpu.max"] == "75000 100000"
                assert files["memory.max"] == str(256 * MIB)
            else:
                assert files["cpu.cfs_quota_us"] == "75000"
                assert files["cpu.cfs_period_us"] == "100000"
                assert files["cpu.shares"] == "512"  # 500m x 1024 / 1000
                assert files["memory.limit_in_bytes"] == str(256 * MIB)
            assert str(pod["pid"]) in files["procs"].split()
            assert pod["cgroup"]["cpu_quota_us"] == 75000
        names = {p["name"] for p in pods}

        def series():
            text = serving.get("/metrics")
            return {name: samples(text, name) for name in (
                "container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total",
                "container_cpu_cfs_throttled_periods_total",
                "container_memory_working_set_bytes", "container_spec_cpu_quota")}
        # Periods are counted once a pod has run on the CPU.
        wait_until(lambda: all(set(s) == names for s in series().values()), 10,
                   "every pod's cAdvisor series")
        got = series()
        assert set(got["container_spec_cpu_quota"].values()) == {75000}
        assert all(v > 0 for v in got["container_cpu_usage_seconds_total"].values())
        assert all(v > MIB for v in got["container_memory_working_set_bytes"].values())
        text = serving.get("/metrics")
        for pod in names:
            assert (f'kube_pod_container_resource_limits{{namespace="default",pod="{pod}",'
                    f'container="worker",') in text
        limits = [line for line in text.splitlines()
                  if line.startswith("kube_pod_container_resource_limits{")
                  and 'resource="cpu"' in line]
        assert {float(line.rsplit(" ", 1)[1]) for line in limits} == {0.75}
        dirs = [d for p in pods for d in p["cgroup"]["dirs"]]
    finally:
        assert serving.stop() == 0
    # Every pod's cgroup goes with it.
    assert not [d for d in dirs if os.path.exists(d)]


def test_a_pod_past_its_memory_limit_is_oom_killed_and_restarted(tmp_path):
    serving = Serving(tmp_path, "--min-scale=1", "--pod-start-delay=0s",
                      "--pod-memory-limit=32Mi", worker=MEMORY_HOG)
    try:
        limits_enforced(serving)

        def oom_killed():
            return serving.state()["restarts_by_reason"].get("OOMKilled", 0) >= 1
        wait_until(oom_killed, 20, "an OOM kill")
        state = serving.state()
        assert "Error" not in state["restarts_by_reason"], state
        pod = state["pods"][0]
        assert pod["last_termination_reason"] == "OOMKilled"
        assert pod["restarts"] >= 1
        assert pod["cgroup"]["memory_limit_bytes"] == 32 * MIB
        assert "OOMKilled" in serving.text()
        assert serving.metric("container_oom_events_total") >= 1
        # /state reads the pods at once; the counter follows on the pods'
        # thread's next report.
        wait_until(lambda: (serving.metric("local_serving_pod_restarts_total") or 0) >= 1, 10,
                   "the restart on /metrics")
    finally:
        assert serving.stop() == 0


def test_a_killed_instances_cgroups_go_at_the_next_start(tmp_path):
    first = Serving(tmp_path / "first", "--min-scale=1", "--pod-start-delay=0s")
    wait_until(lambda: first.state()["ready"] == 1, 20, "the pod")
    limits_enforced(first)
    pod = first.state()["pods"][0]
    instance_dirs = {os.path.dirname(d) for d in pod["cgroup"]["dirs"]}
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    wait_until(lambda: not pid_alive(pod["pid"]), 10, "the pod to die with it")
    assert all(os.path.isdir(d) for d in instance_dirs)  # left behind
    second = Serving(tmp_path / "second", "--min-scale=0")
    try:
        assert not [d for d in instance_dirs if os.path.exists(d)]
    finally:
        assert second.stop() == 0
