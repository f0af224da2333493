"""local_serving --check-config: the resolved configuration as JSON (the
contract the sweep reads, docs/local_serving.md) and as key=value text.

Runs the real binaries, no pods: --check-config starts nothing. Run by
ctest with LOCAL_SERVING_BIN, WORKER_BIN and KPA_MODEL_BIN set.
"""
import json
import os
import subprocess

LOCAL_SERVING = os.environ["LOCAL_SERVING_BIN"]
WORKER = os.environ["WORKER_BIN"]
KPA_MODEL = os.environ["KPA_MODEL_BIN"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MANIFEST = os.path.join(ROOT, "deploy", "base", "worker", "knative-service.yaml")

SERVING_KEYS = {"listen", "metrics_port", "worker", "worker_args", "service",
                "namespace", "revision", "pod_start_delay", "max_pods",
                "queue_depth", "metric_names", "termination_grace",
                "shutdown_grace", "log_dir", "stats_out", "decisions_out",
                "prometheus_sd_file", "pod_cgroups", "otlp_endpoint", "trace_out",
                "trace_sample_rate", "pod_resources"}
# The text keys scripts have read since before the JSON, in their order.
TEXT_KEYS = ["listen", "metrics_port", "worker", "service", "metric",
             "target_per_pod", "container_concurrency", "window",
             "panic_window_percentage", "target_burst_capacity", "min_scale",
             "max_scale", "initial_scale", "scale_to_zero_grace_period",
             "enable_scale_to_zero", "pod_start_delay", "max_pods"]


def run(binary, *args):
    return subprocess.run([binary, "--check-config", *args], capture_output=True,
                          text=True, timeout=30)


def check_json(binary, *args):
    r = run(binary, "--format=json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def as_flags(settings):
    """What a script passes kpa_model to replay: every non-null setting."""
    flags = []
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        flags.append(f"--{key.replace('_', '-')}={value}")
    return flags


def test_json_has_every_setting_its_source_and_every_serving_flag():
    c = check_json(LOCAL_SERVING, f"--worker={WORKER}", f"--from-manifest={MANIFEST}",
                   "--window=6s", "--initial-scale=0", "--worker-arg=--spin-nice=0",
                   "--worker-arg=--spin-clock=cpu", "--listen=127.0.0.1:0")
    assert c["program"] == "local_serving" and c["class"] == "kpa"
    s, src = c["settings"], c["sources"]
    assert set(src) == set(s)
    # The real manifest: concurrency target 10, max-scale 3; the flags win.
    assert s["target"] == 10 and src["target"] == "manifest"
    assert s["max_scale"] == 3 and src["max_scale"] == "manifest"
    assert s["window"] == "6s" and src["window"] == "flag"
    assert s["initial_scale"] == 0 and src["initial_scale"] == "flag"
    assert s["tick_interval"] == "2s" and src["tick_interval"] == "default"
    assert s["enable_scale_to_zero"] is True
    assert c["derived"] == {"target_per_pod": 7.0, "total_target": 10.0}
    assert c["manifest"]["path"] == MANIFEST
    assert c["manifest"]["service"] == "worker"
    assert set(c["serving"]) == SERVING_KEYS
    assert c["serving"]["worker_args"] == ["--spin-nice=0", "--spin-clock=cpu"]
    assert c["serving"]["listen"] == "127.0.0.1:0"
    assert c["serving"]["service"] == "worker"
    assert c["serving"]["namespace"] == "default"
    assert c["serving"]["pod_start_delay"] == "2s"
    assert "model" not in c


def test_kpa_model_replays_with_the_same_settings():
    served = check_json(LOCAL_SERVING, f"--worker={WORKER}", f"--from-manifest={MANIFEST}",
                        "--window=6s", "--metric-aggregation-algorithm=weightedExponential",
                        "--pod-start-delay=3s")
    flags = as_flags(served["settings"])
    flags.append(f"--pod-start-delay={served['serving']['pod_start_delay']}")
    model = check_json(KPA_MODEL, *flags)
    assert model["settings"] == served["settings"]
    assert model["derived"] == served["derived"]
    assert model["model"]["pod_start_delay"] == "3s"


def test_unset_target_is_null():
    c = check_json(LOCAL_SERVING, f"--worker={WORKER}")
    assert c["settings"]["target"] is None
    assert c["sources"]["target"] == "default"
    assert c["manifest"] is None
    assert c["derived"]["total_target"] == 100


def test_text_keeps_its_keys_first_and_lists_every_setting():
    r = run(LOCAL_SERVING, f"--worker={WORKER}", f"--from-manifest={MANIFEST}")
    assert r.returncode == 0, r.stderr
    pairs = [line.split("=", 1) for line in r.stdout.splitlines()]
    keys = [k for k, _ in pairs]
    assert keys[:len(TEXT_KEYS)] == TEXT_KEYS
    assert len(keys) == len(set(keys))
    values = dict(pairs)
    assert values["service"] == "default/worker"
    assert values["target_per_pod"] == "7"
    assert values["window"] == "1m"
    settings = check_json(LOCAL_SERVING, f"--worker={WORKER}")["settings"]
    assert set(settings) <= set(keys)


def test_pod_resources_flag_over_manifest_and_whether_limits_are_enforced():
    c = check_json(LOCAL_SERVING, f"--worker={WORKER}", f"--from-manifest={MANIFEST}",
                   "--pod-cpu-limit=1500m", "--pod-memory-limit=0")
    r = c["serving"]["pod_resources"]
    # The manifest: requests 500m / 64Mi, limits 1 / 256Mi.
    assert r["cpu_request_millicores"] == 500
    assert r["cpu_limit_millicores"] == 1500
    assert r["memory_request_bytes"] == 64 * 2**20
    assert r["memory_limit_bytes"] is None  # 0: none, over the manifest's
    assert r["sources"] == {"cpu_request": "manifest", "cpu_limit": "flag",
                            "memory_request": "manifest", "memory_limit": "flag"}
    # This machine (and CI) runs as root on writable cgroup v1.
    assert r["limits_enforced"] in ("v1", "v2"), r["limits_enforced"]
    assert c["serving"]["pod_cgroups"] is True
    off = check_json(LOCAL_SERVING, f"--worker={WORKER}", "--pod-cgroups=false")
    assert off["serving"]["pod_resources"]["limits_enforced"].startswith("none: turned off")
    assert off["serving"]["pod_resources"]["cpu_limit_millicores"] is None
    text = run(LOCAL_SERVING, f"--worker={WORKER}", "--pod-cpu-request=250m")
    assert "pod_resources.cpu_request_millicores=250\n" in text.stdout


def test_pod_resources_under_the_hpa_class_use_the_hpas_cpu_request():
    c = check_json(LOCAL_SERVING, f"--worker={WORKER}", "--class=hpa", "--cpu-request=300",
                   "--pod-cpu-limit=1")
    r = c["serving"]["pod_resources"]
    assert r["cpu_request_millicores"] == 300 and r["sources"]["cpu_request"] == "flag"
    r = run(LOCAL_SERVING, f"--worker={WORKER}", "--class=hpa", "--cpu-request=300",
            "--pod-cpu-request=300m")
    assert r.returncode == 2 and "--cpu-request" in r.stderr


def test_bad_pod_resources_one_line_exit_two():
    for args, says in ((["--pod-cpu-limit=abc"], "--pod-cpu-limit=abc: "),
                       (["--pod-memory-limit=-1Mi"], "--pod-memory-limit=-1Mi: "),
                       (["--pod-cpu-request=2", "--pod-cpu-limit=1"], "must not exceed")):
        r = run(LOCAL_SERVING, f"--worker={WORKER}", *args)
        assert r.returncode == 2, args
        assert r.stderr.strip().count("\n") == 0 and says in r.stderr, (args, r.stderr)


def test_bad_settings_or_format_one_line_exit_two():
    for args in (["--format=json", "--window=5s"], ["--format=xml"]):
        r = run(LOCAL_SERVING, f"--worker={WORKER}", *args)
        assert r.returncode == 2, args
        assert r.stdout == ""
        assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("local_serving: ")


def test_hpa_class_resolves_its_own_settings():
    c = check_json(LOCAL_SERVING, f"--worker={WORKER}", "--class=hpa",
                   "--cpu-request=500", "--target=70", "--window=30s")
    assert c["class"] == "hpa" and c["settings"]["class"] == "hpa"
    assert c["sources"]["class"] == "flag"
    # The HPA's table only: no KPA setting is reported.
    assert "panic_window_percentage" not in c["settings"]
    assert c["settings"]["horizontal_pod_autoscaler_sync_period"] == "15s"
    assert c["derived"]["target_utilization_percent"] == 70
    assert c["derived"]["behavior"]["scale_down"]["stabilization_window"] == "30s"
    assert set(c["serving"]) == SERVING_KEYS
    # kpa_model reads the same settings back, class included.
    model = check_json(KPA_MODEL, *as_flags(c["settings"]))
    assert model["settings"] == c["settings"]
    assert model["derived"] == c["derived"]


def test_a_worker_that_is_not_an_executable_file_is_refused_even_by_check_config(tmp_path):
    # A directory passes access(X_OK) and then crash-looped every pod (exit
    # 127); a file without the x bit, or none at all, is refused the same way.
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    for worker, says in ((tmp_path, "is a directory"), (plain, "is not executable"),
                         (tmp_path / "missing", "does not exist")):
        r = run(LOCAL_SERVING, f"--worker={worker}")
        assert r.returncode == 2, (worker, r.stdout)
        assert r.stdout == ""
        assert r.stderr.strip().count("\n") == 0, r.stderr
        assert r.stderr.startswith(
            f"local_serving: --worker: {worker} is not an executable file (it {says};"), r.stderr


def test_a_manifest_with_two_knative_services_is_refused_naming_both(tmp_path):
    with open(MANIFEST) as f:
        one = f.read()
    two = tmp_path / "two.yaml"
    two.write_text(one + "\n---\n" + one.replace("name: worker", "name: other", 1))
    r = run(LOCAL_SERVING, f"--worker={WORKER}", f"--from-manifest={two}")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "2 Knative Services in the manifest (worker at line" in r.stderr
    assert ", other at line" in r.stderr
