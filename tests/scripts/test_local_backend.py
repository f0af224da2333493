"""The local backend (knbench_sweep.local) against stand-ins for the worker, load_driver,
local_serving, kpa_model and Prometheus (fakes/): what it starts and with which flags,
what it waits for, what one run leaves, and that teardown leaves nothing."""
import csv
import json
import os

import pytest
import yaml

from conftest import FAKES, alive
from knbench_sweep import settings
from knbench_sweep.console import UsageError
from knbench_sweep.local import LocalBackend
from knbench_sweep.plan import build_plan
from knbench_sweep.procs import StartError
from knbench_sweep.sut import systems


def backend_for(tmp_path, *argv, **env):
    env = dict({"WORKER_BIN": os.path.join(FAKES, "worker"),
                "DRIVER_BIN": os.path.join(FAKES, "load_driver"),
                "LOCAL_SERVING_BIN": os.path.join(FAKES, "local_serving"),
                "KPA_MODEL_BIN": os.path.join(FAKES, "kpa_model")}, **env)
    s = settings.resolve(["--duration", "2s", "--warmup", "1", *argv], env)
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    return s, LocalBackend(s, systems(s)[0], str(logs))


def calls(tmp_path, name):
    with open(tmp_path / "calls") as f:
        return [c for c in map(json.loads, f) if c["name"] == name]


@pytest.fixture
def fixed(fake_env):
    s, b = backend_for(fake_env, "--local-pods", "2")
    yield s, b
    b.teardown()


def test_fixed_pods_run_two_drivers_and_merge_their_files(fixed, fake_env, capsys):
    s, b = fixed
    b.setup()
    config = yaml.safe_load(open(os.path.join(b.tmp, "prometheus.yml")))
    jobs = {c["job_name"]: c for c in config["scrape_configs"]}
    assert [t["labels"]["pod"] for t in jobs["worker"]["static_configs"]] == ["worker-1", "worker-2"]
    assert len(jobs["load_driver"]["static_configs"]) == 2
    workers = calls(fake_env, "worker")
    assert sorted(w["pod"] for w in workers) == ["worker-1", "worker-2"]  # started at once
    assert all({"--bind", "127.0.0.1", "--shutdown-grace", "5s"} <= set(w["argv"]) for w in workers)
    assert b.wait_idle(s.rate_window_s)
    point = build_plan([5], [10], 1)[0]
    out, summ = fake_env / "r.csv", fake_env / "s.json"
    b.run(point, str(out), str(summ))
    drivers = calls(fake_env, "load_driver")
    shares = sorted(d["argv"][d["argv"].index("--rps") + 1] for d in drivers)
    assert shares == ["2", "3"]  # 5 rps on 2 workers: 3 + 2
    assert all("--progress-interval" in d["argv"] and "--linger" in d["argv"] for d in drivers)
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 10 and [r["seq"] for r in rows] == [str(i) for i in range(1, 11)]
    assert {r["rps"] for r in rows} == {"5"}
    merged = json.load(open(summ))
    assert merged["scheduled"] == 10 and len(merged["drivers"]) == 2
    err = capsys.readouterr().err
    for line in ("started worker-1 (pid", "started worker-2 (pid", "started prometheus (pid",
                 "started load_driver-1 (pid", "local backend ready: 2 fixed worker(s)"):
        assert line in err
    assert " load_driver: elapsed 2.0s target " in b.progress_lines(point.name)[0]
    assert b.describe()["autoscaling"].startswith("none: 2 fixed worker process(es)")
    assert b.kpa_model_args()[0] == "--from-manifest"
    pids = [c.pid for c in b.children.children]
    tmp = b.tmp
    b.teardown()
    assert not any(alive(p) for p in pids) and not os.path.exists(tmp)
    b.teardown()  # twice is harmless


def test_a_worker_that_dies_at_start_fails_the_setup_at_once(fake_env, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_WORKER_DIES", "1")
    s, b = backend_for(fake_env, "--local-pods", "1")
    with pytest.raises(StartError, match="worker-1 exited during start-up"):
        b.setup()
    assert "told to die" in capsys.readouterr().err  # the tail of its log
    pids = [c.pid for c in b.children.children]
    b.teardown()
    assert not any(alive(p) for p in pids)


def test_missing_binaries_are_named(fake_env):
    _, b = backend_for(fake_env, "--local-pods", "1", WORKER_BIN=str(fake_env / "nope"))
    with pytest.raises(UsageError, match="worker binary not found or not executable: '.*nope'"):
        b.setup()
    _, b = backend_for(fake_env, LOCAL_SERVING_BIN=str(fake_env / "nope"))
    with pytest.raises(UsageError, match="local_serving binary not found or not executable"):
        b.setup()


def test_serving_settings_come_from_check_config(fake_env):
    _, b = backend_for(fake_env)
    conf = b.plan()
    assert (conf["system"], conf["pod_start_delay"], conf["stable_window"], conf["idle_pods"]) \
        == ("local serving", "2s", "6s", "0")
    # Per run: rate window + 3 + the 6 s window; setup: the rest of the 30 s grace.
    assert b.planned_overhead() == (3 + 3 + 6, 5 + 30 - 2 - 2 * 6)
    for off in ("--enable-scale-to-zero=false", "--noenable-scale-to-zero"):
        _, b = backend_for(fake_env, "--serving-args", off)
        assert b.plan()["idle_pods"] == "1"
    _, b = backend_for(fake_env, "--serving-args", "--bogus=1")
    with pytest.raises(UsageError, match="^local serving's settings are invalid: local_serving: "
                                         "unknown flag --bogus"):
        b.plan()
    _, b = backend_for(fake_env, LOCAL_SERVING_BIN="/nonexistent")  # --dry-run without it
    assert "pod_start_delay" not in b.plan() and b.planned_overhead() == (12, 21)


def test_serving_run_describe_and_replay(fake_env, monkeypatch):
    s, b = backend_for(fake_env)
    try:
        b.setup()
        started = calls(fake_env, "local_serving")[-1]["argv"]
        assert started[:4] == [f"--from-manifest={s.manifest}", "--shutdown-grace=5s",
                               "--window", "6s"]
        assert any(a.startswith("--stats-out=") for a in started)
        assert b.wait_idle(s.rate_window_s)
        b.run(build_plan([4], [10], 1)[0], str(fake_env / "r.csv"), str(fake_env / "s.json"))
        assert len(list(csv.DictReader(open(fake_env / "r.csv")))) == 8
        d = b.describe()
        assert d["autoscaling"] == ("KPA metric=concurrency target_per_pod=7 "
                                    "container_concurrency=0 window=6s panic_window_percentage=10 "
                                    "target_burst_capacity=211 min_scale=0 max_scale=3 "
                                    "initial_scale=0 scale_to_zero_grace_period=30s")
        assert d["pod_start_delay"] == "2s"
        record = b.system_record()
        assert record["serving_config"]["settings"]["window"] == "6s"
    finally:
        b.teardown()
    # The contract's replay rule: every setting that is set, then the pod start delay.
    args = b.kpa_model_args()
    assert "--window=6s" in args and "--enable-scale-to-zero=true" in args
    assert "--target=10" in args and not any(a.startswith("--worker") for a in args)
    assert args[-1] == "--pod-start-delay=2s"
    assert b.replay_check(os.path.join(FAKES, "kpa_model")).startswith(
        "identical: kpa_model's replay of logs/local_serving-stats.csv gives the 2 live decisions")
    assert calls(fake_env, "kpa_model")[-1]["argv"][4:] == args
    monkeypatch.setenv("FAKE_KPA_DIFFERENT", "1")
    assert b.replay_check(os.path.join(FAKES, "kpa_model")) == (
        "DIFFERENT: kpa_model's replay (logs/kpa_model-replay.csv) and the 2 live decisions "
        "differ from line 3")
