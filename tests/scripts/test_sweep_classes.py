"""--autoscalers: the same grid under each autoscaler class (knbench_sweep.classes, .sut,
.checkconfig per class), on the stand-ins (fakes/, deploy/tests/fake_kubectl.sh): the
option, each class's settings from --check-config (idle pods, the way back, the replay
arguments), the per-class plan and directories, a kpa,hpa sweep ending in one comparison
that --compare by hand reproduces, a second class interrupted, and on a cluster the
class's manifests applied and waited for between classes."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import FAKES, ROOT, alive
from knbench_sweep import checkconfig, settings
from knbench_sweep.console import UsageError
from knbench_sweep.local import LocalBackend
from knbench_sweep.net import Ports
from knbench_sweep.sut import systems

RUN = os.path.join(ROOT, "scripts", "run_experiments.sh")
ANALYZE = os.path.join(ROOT, "tools", "analyze_plot.py")
KUBECTL = os.path.join(ROOT, "deploy", "tests", "fake_kubectl.sh")
FAST = ["--rps-start", "4", "--rps-max", "4", "--spin-start", "10", "--spin-max", "10",
        "--duration", "2s", "--warmup", "1", "--rate-window", "1s", "--sweep-id", "s"]
BINS = {"WORKER_BIN": os.path.join(FAKES, "worker"),
        "DRIVER_BIN": os.path.join(FAKES, "load_driver"),
        "LOCAL_SERVING_BIN": os.path.join(FAKES, "local_serving"),
        "KPA_MODEL_BIN": os.path.join(FAKES, "kpa_model")}


@pytest.fixture
def env(fake_env):
    e = dict(os.environ, **BINS)
    for k in ("AUTOSCALERS", "HPA_SERVING_ARGS", "HPA_MANIFEST", "OUTDIR", "SWEEP_ID"):
        e.pop(k, None)
    return e


def sweep(env, tmp_path, *args, timeout=180):
    return subprocess.run([RUN, *FAST, "--outdir", str(tmp_path), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def conf(d):
    return dict(line.rstrip("\n").split("=", 1) for line in open(d / "sweep.conf"))


def calls(tmp_path, name):
    with open(tmp_path / "calls") as f:
        return [c["argv"] for c in map(json.loads, f) if c["name"] == name]


def test_the_option_and_what_it_refuses():
    assert settings.resolve(["--autoscalers", "hpa,kpa"], {}).autoscalers == ["hpa", "kpa"]
    assert settings.resolve([], {"AUTOSCALERS": "hpa"}).autoscalers == ["hpa"]
    assert settings.resolve([], {}).autoscalers == []  # the manifest's own class
    assert settings.resolve([], {}).hpa_serving_args == [
        "--horizontal-pod-autoscaler-downscale-stabilization", "30s"]
    for argv, env, msg in [
            (["--autoscalers", "kpa,kpa"], {}, "--autoscalers must be a comma-separated list "
                                              "of kpa, hpa, each at most once, got 'kpa,kpa'"),
            ([], {"AUTOSCALERS": "vpa"}, "AUTOSCALERS must be a comma-separated list"),
            (["--autoscalers", "kpa", "--local-pods", "2"], {},
             "--autoscalers runs autoscaler classes; --local-pods runs fixed pods"),
            (["--hpa-serving-args", "--target 50"], {},
             "--hpa-serving-args is the hpa class's: it needs --autoscalers with hpa"),
            (["--mode", "cluster", "--hpa-manifest", "x.yaml"], {},
             "--hpa-manifest is local-mode only")]:
        with pytest.raises(UsageError, match="^" + msg.replace("(", r"\(").replace(")", r"\)")):
            settings.resolve(argv, env)


HPA_DOC = {"class": "hpa", "settings": {
    "metric": "cpu", "target": 70, "min_scale": 0, "max_scale": 3, "window": None,
    "horizontal_pod_autoscaler_sync_period": "15s", "horizontal_pod_autoscaler_tolerance": 0.1,
    "horizontal_pod_autoscaler_downscale_stabilization": "30s", "metric_resolution": "15s",
    "cpu_request": 500}, "serving": {"pod_start_delay": "2s"}}


def test_each_class_from_what_local_serving_resolved():
    hpa = checkconfig.ServingConfig(HPA_DOC)
    assert (hpa.autoscaler_class, hpa.idle_pods) == ("hpa", 1)  # min-scale 0: still 1 pod
    assert hpa.scale_down_s() == 30 + 15 + 15  # stabilization, a sample, a sync
    assert hpa.replay_args() == [
        "--class=hpa", "--metric=cpu", "--target=70", "--min-scale=0", "--max-scale=3",
        "--horizontal-pod-autoscaler-sync-period=15s",
        "--horizontal-pod-autoscaler-tolerance=0.1",
        "--horizontal-pod-autoscaler-downscale-stabilization=30s", "--metric-resolution=15s",
        "--cpu-request=500"]  # the pod start delay is the KPA replay's only
    # A binary that lists the class among its settings gets it once, by the rule.
    listed = checkconfig.ServingConfig(dict(HPA_DOC, settings={"class": "hpa",
                                                               "metric": "cpu"}))
    assert listed.replay_args() == ["--class=hpa", "--metric=cpu"]
    assert hpa.autoscaling_line() == (
        "HPA metric=cpu target=70 min_scale=0 max_scale=3 "
        "horizontal_pod_autoscaler_sync_period=15s horizontal_pod_autoscaler_tolerance=0.1 "
        "horizontal_pod_autoscaler_downscale_stabilization=30s metric_resolution=15s "
        "cpu_request=500")
    windowed = checkconfig.ServingConfig(dict(HPA_DOC, settings=dict(
        HPA_DOC["settings"], window="20s", min_scale=2)))
    assert (windowed.idle_pods, windowed.scale_down_s()) == (2, 20 + 15 + 15)
    kpa = checkconfig.ServingConfig({"class": "kpa", "settings": {"window": "6s",
                                                                  "min_scale": 0},
                                     "serving": {"pod_start_delay": "2s"}})
    assert (kpa.idle_pods, kpa.scale_down_s(), kpa.replay_args()) == (
        0, 6, ["--window=6s", "--min-scale=0", "--pod-start-delay=2s"])  # the default class


def dry_run(env, tmp_path, *args):
    r = sweep(env, tmp_path, "--dry-run", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_the_dry_run_plans_each_class(env, tmp_path):
    out = dry_run(env, tmp_path, "--autoscalers", "kpa,hpa", "--spin-max", "100",
                  "--spin-step", "90")
    assert f"sweep_dir={tmp_path}/s" in out and "autoscalers=kpa,hpa" in out
    for line in (f"kpa.sweep_dir={tmp_path}/s/kpa", "kpa.serving_args=--window 6s "
                 "--initial-scale 0", "kpa.idle_pods=0", "kpa.autoscaler_class=kpa",
                 f"hpa.sweep_dir={tmp_path}/s/hpa", "hpa.serving_args=--horizontal-pod-"
                 "autoscaler-downscale-stabilization 30s", "hpa.idle_pods=1",
                 "hpa.autoscaler_class=hpa",
                 "hpa.manifest_source=deploy/overlays/hpa (rendered by kubectl kustomize)"):
        assert line in out
    assert [x for x in out if x.startswith("plan ")] == [
        "plan kpa 1/2 rps=4 spin=10ms repeat=1 files=kpa/*-4rps-10ms.*",
        "plan kpa 2/2 rps=4 spin=100ms repeat=1 files=kpa/*-4rps-100ms.*",
        "plan hpa 1/2 rps=4 spin=10ms repeat=1 files=hpa/*-4rps-10ms.*",
        "plan hpa 2/2 rps=4 spin=100ms repeat=1 files=hpa/*-4rps-100ms.*"]
    # Each class's time: per run the rate window 1 s + 3 s + the way back to idle (KPA:
    # its 6 s window; HPA: its 30 s stabilization, a 15 s sample and a 15 s sync); setup
    # 5 s (the KPA's first run also waits out the grace period: 30 - 2 - 2 x 6 = 16 s).
    times = {x.split(".")[0]: x.split("=", 1)[1] for x in out if ".planned_time=" in x}
    assert times["kpa"] == ("45s (2 runs x 2s of load = 4s, plus about 10s per run between "
                            "runs and 21s of setup; the analysis comes after)")
    assert times["hpa"] == ("2m17s (2 runs x 2s of load = 4s, plus about 1m04s per run "
                            "between runs and 5s of setup; the analysis comes after)")
    assert "planned_time=3m02s (kpa 45s + hpa 2m17s, one class after the other; the " \
           "analyses and the comparison come after)" in out
    assert not (tmp_path / "s").exists()


def test_one_class_alone_is_a_sweep_directory_of_its_own(env, tmp_path):
    out = dry_run(env, tmp_path, "--autoscalers", "hpa", "--hpa-serving-args",
                  "--metric-resolution 5s")
    assert f"sweep_dir={tmp_path}/s" in out and "autoscaler_class=hpa" in out
    assert "serving_args=--metric-resolution 5s" in out and "idle_pods=1" in out
    assert "plan 1/1 rps=4 spin=10ms repeat=1 files=*-4rps-10ms.*" in out
    assert "mode=local" in dry_run(env, tmp_path, "--autoscalers", "kpa")


@pytest.mark.parametrize("args,message", [
    (["--hpa-serving-args", "--initial-scale 0"], "local serving's settings are invalid: "
     "local_serving: --initial-scale is not a setting of the hpa class"),
    (["--hpa-manifest", os.path.join(ROOT, "deploy/base/worker/knative-service.yaml"),
      "--hpa-serving-args", ""], "--autoscalers hpa: local_serving resolved the kpa class "
     f"from {ROOT}/deploy/base/worker/knative-service.yaml and its arguments '' (the hpa "
     "class needs a manifest whose autoscaling.knative.dev/class is hpa)"),
    (["--hpa-manifest", "/nonexistent.yaml"], "the Knative Service manifest '/nonexistent.yaml' "
     "does not exist (--hpa-manifest / HPA_MANIFEST)")])
def test_a_class_with_bad_settings_stops_everything_before_it_starts(env, tmp_path, args,
                                                                     message):
    r = sweep(env, tmp_path, "--autoscalers", "kpa,hpa", *args)
    assert r.returncode == 2 and r.stderr.startswith("run_experiments: error: " + message)
    assert not (tmp_path / "s").exists() and not os.path.exists(tmp_path / "calls") or \
        not calls(tmp_path, "load_driver")


def started_pids(text):
    return [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]


def test_kpa_then_hpa_end_in_one_comparison(env, tmp_path):
    r = sweep(env, tmp_path, "--autoscalers", "kpa,hpa")
    assert r.returncode == 0, r.stderr
    assert len(started_pids(r.stderr)) == 6  # per class: local_serving, Prometheus, a driver
    assert not any(alive(pid) for pid in started_pids(r.stderr))
    top = tmp_path / "s"
    assert f"comparison: {top}/comparison.html" in r.stdout
    for cls in ("kpa", "hpa"):
        d = top / cls
        doc = json.loads((d / "runs.json").read_text())
        assert doc["sweep"]["id"] == f"s/{cls}" and doc["sweep"]["status"] == "complete"
        assert doc["system"]["class"] == cls and doc["settings"]["autoscalers"] == ["kpa", "hpa"]
        c = conf(d)
        assert (c["autoscaler_class"], c["status"]) == (cls, "complete")
        assert c["replay_check"].startswith("identical: ")
        for f in ("report.html", "results-4rps-10ms.csv", "summary-4rps-10ms.json",
                  "prometheus-4rps-10ms.json"):
            assert (d / f).is_file()
    assert conf(top / "hpa")["idle_pods"] == "1" and conf(top / "kpa")["idle_pods"] == "0"
    # Two local_servings, one per class, each with its own manifest and arguments.
    serving = [a for a in calls(tmp_path, "local_serving") if "--check-config" not in a]
    assert len(serving) == 2
    assert "--window" in serving[0] and "--initial-scale" in serving[0]
    assert "--horizontal-pod-autoscaler-downscale-stabilization" in serving[1]
    hpa_manifest = next(a.split("=", 1)[1] for a in serving[1]
                        if a.startswith("--from-manifest="))
    assert hpa_manifest.endswith("knative-service-hpa.yaml") and not os.path.exists(hpa_manifest)
    kept = yaml.safe_load((top / "hpa" / "logs" / "knative-service.yaml").read_text())
    assert kept["spec"]["template"]["metadata"]["annotations"][
        "autoscaling.knative.dev/class"] == "hpa.autoscaling.knative.dev"
    assert conf(top / "hpa")["autoscaling_source"] == (
        "deploy/overlays/hpa (rendered by kubectl kustomize) (its autoscaling.knative.dev "
        "annotations; kept as logs/knative-service.yaml), then "
        "--horizontal-pod-autoscaler-downscale-stabilization 30s")
    assert not (top / "kpa" / "logs" / "knative-service.yaml").exists()
    # The HPA's decisions are replayed as the HPA's; its analysis draws no KPA model.
    replay = [a for a in calls(tmp_path, "kpa_model") if "--class=hpa" in a]
    assert len(replay) == 1 and "--cpu-request=500" in replay[0]
    assert json.loads((top / "hpa" / "analysis.json").read_text())["kpa_model"] is None
    analysis = json.loads((top / "kpa" / "analysis.json").read_text())
    # The analysis models with exactly what the sweep recorded (no what-if on top).
    assert analysis["kpa_model"] and analysis["kpa_what_if"] == []
    assert analysis["kpa_args"] == json.loads((top / "kpa" / "runs.json").read_text())[
        "system"]["kpa_model_args"]
    assert "--window=6s" in analysis["kpa_args"]
    doc = json.loads((top / "comparison.json").read_text())
    assert [s["autoscaler_class"] for s in doc["sweeps"]] == ["kpa", "hpa"]
    assert doc["sweeps"][1]["flag_settings"] == {
        "horizontal_pod_autoscaler_downscale_stabilization": "30s"}
    assert [p["name"] for p in doc["points"]] == ["4rps-10ms"]
    assert (top / "comparison_4rps-10ms.png").is_file()
    # --compare of the two class directories by hand gives the same comparison.
    h = subprocess.run([sys.executable, ANALYZE, "--compare", top / "kpa", top / "hpa",
                        "--out-dir", tmp_path / "again"], capture_output=True, text=True,
                       timeout=300)
    assert h.returncode == 0, h.stderr
    again = json.loads((tmp_path / "again" / "comparison.json").read_text())
    assert again["points"] == doc["points"]
    assert [dict(s, report=None) for s in again["sweeps"]] == \
        [dict(s, report=None) for s in doc["sweeps"]]  # reports are linked relative to each


def test_an_interrupted_second_class_ends_the_sweep_without_a_comparison(env, tmp_path):
    log = tmp_path / "log"
    with open(log, "w") as out:
        p = subprocess.Popen([RUN, *FAST, "--outdir", str(tmp_path), "--autoscalers", "kpa,hpa",
                              "--no-analyze"], env=dict(env, FAKE_DRIVER_SECONDS="60",
                                                        FAKE_DRIVER_SLOW_OUT="/s/hpa/"),
                             stdout=out, stderr=out, start_new_session=True)
    driver_log = tmp_path / "s" / "hpa" / "logs" / "load_driver-1-4rps-10ms.log"
    deadline = time.monotonic() + 90
    while not (driver_log.is_file() and "fake driver" in driver_log.read_text()):
        assert p.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)
    assert p.wait(timeout=60) == 130
    assert not any(alive(pid) for pid in started_pids(log.read_text()))
    top = tmp_path / "s"
    assert conf(top / "kpa")["status"] == "complete"
    assert conf(top / "hpa")["status"] == "partial"
    assert sorted(p.name for p in top.iterdir()) == ["hpa", "kpa"]  # no comparison, no logs/
    assert not list(tmp_path.glob("knbench-*"))  # the rendered manifest's directory too


def test_a_second_class_that_cannot_start_leaves_the_first_ones_results(env, tmp_path):
    r = sweep(dict(env, FAKE_SERVING_REFUSES="hpa"), tmp_path, "--autoscalers", "kpa,hpa",
              "--no-analyze")
    assert r.returncode == 2
    assert "local_serving: the hpa class cannot be served (told to refuse)" in r.stderr
    assert "the hpa sweep did not finish: no comparison" in r.stderr
    top = tmp_path / "s"
    assert [p.name for p in top.iterdir()] == ["kpa"] and conf(top / "kpa")["status"] == \
        "complete"
    assert not any(alive(pid) for pid in started_pids(r.stderr))


def test_the_local_serving_job_keeps_its_pods_labels_and_the_hpa_idles_at_one_pod(fake_env):
    s = settings.resolve(["--autoscalers", "hpa"], BINS)
    b = LocalBackend(s, systems(s, lambda: str(fake_env))[0], str(fake_env / "logs"))
    try:
        b.setup()
        config = yaml.safe_load(open(os.path.join(b.tmp, "prometheus.yml")))
        job = next(c for c in config["scrape_configs"] if c["job_name"] == "local_serving")
        assert job["honor_labels"] is True
        assert b.system.idle_pods == 1 and b.wait_idle(1)  # the stand-in idles at 1 pod
        assert b.analysis_model_args() is None and b.kpa_model_args()[0] == "--class=hpa"
    finally:
        b.teardown()


@pytest.fixture
def stand_in_prometheus(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs: []\n")
    port = Ports().take()
    p = subprocess.Popen([os.path.join(FAKES, "prometheus"), f"--config.file={config}",
                          f"--web.listen-address=127.0.0.1:{port}"], start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while subprocess.run(["curl", "-sf", url + "/-/ready"], capture_output=True).returncode:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    yield url
    p.terminate()
    p.wait(timeout=10)


def cluster_sweep(tmp_path, prom, *args, **env):
    e = dict(os.environ, KUBECTL=KUBECTL, FAKE_KUBECTL_LOG=str(tmp_path / "kubectl.log"),
             FAKE_KUBECTL_STATE=str(tmp_path / "state"), **env)
    return subprocess.run([RUN, "--mode", "cluster", "--autoscalers", "kpa,hpa", "--rps-start",
                           "10", "--rps-max", "10", "--spin-start", "100", "--spin-max", "100",
                           "--duration", "60s", "--warmup", "10", "--no-analyze", "--outdir",
                           str(tmp_path / "results"), "--sweep-id", "c", "--prom-url", prom,
                           *args], env=e, capture_output=True, text=True, timeout=180)


def test_on_a_cluster_each_class_is_applied_and_ready_before_its_runs(tmp_path,
                                                                      stand_in_prometheus):
    r = cluster_sweep(tmp_path, stand_in_prometheus)
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "kubectl.log").read_text().splitlines()
    steps = [x.split()[0] + " " + x.split()[-1] for x in log
             if x.startswith(("apply", "create"))]
    assert len(steps) == 4
    assert steps[0] == f"apply {ROOT}/deploy" and steps[2] == f"apply {ROOT}/deploy/overlays/hpa"
    assert steps[1].startswith("create ") and steps[3].startswith("create ")
    # After each apply: the live Service read until Ready, then its pods counted.
    hpa_at = log.index(f"apply -k {ROOT}/deploy/overlays/hpa")
    assert log[hpa_at + 1] == "get ksvc -n default worker -o json"
    top = tmp_path / "results" / "c"
    for cls, idle, annotation in (("kpa", "0", "class=kpa.autoscaling.knative.dev"),
                                  ("hpa", "1", "class=hpa.autoscaling.knative.dev")):
        c = conf(top / cls)
        assert (c["autoscaler_class"], c["idle_pods"], c["status"]) == (cls, idle, "complete")
        assert annotation in c["autoscaling"]
        assert c["autoscaling_source"].endswith(" deployed it")
        runs = json.loads((top / cls / "runs.json").read_text())
        assert runs["system"]["class"] == cls and runs["runs"][0]["idle_confirmed"]


def test_on_a_cluster_a_service_that_never_turns_ready_stops_the_sweep(tmp_path,
                                                                       stand_in_prometheus):
    r = cluster_sweep(tmp_path, stand_in_prometheus, FAKE_KUBECTL_KSVC="notready",
                      CLUSTER_START_TIMEOUT="1", CLUSTER_IDLE_POLL="0.2")
    assert r.returncode == 2
    assert ("run_experiments: error: the Knative Service default/worker was not Ready 1s after "
            "kubectl apply -k deploy (CLUSTER_START_TIMEOUT)") in r.stderr.splitlines()
    assert "the kpa sweep did not finish: no comparison" in r.stderr
    assert not (tmp_path / "results" / "c").exists()
    assert "create" not in (tmp_path / "kubectl.log").read_text()
