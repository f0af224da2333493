"""scripts/run_experiments.sh end to end against the stand-ins (fakes/): what a sweep
records (runs.json, sweep.conf, runs.csv) when it completes, stops at a threshold, cannot
collect a run's series, fails to start, or is interrupted; and that it leaves nothing
running. The real processes are the experiments.* integration tests' job."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import FAKES, ROOT, alive

RUN = os.path.join(ROOT, "scripts", "run_experiments.sh")
FAST = ["--rps-start", "4", "--rps-step", "2", "--rps-max", "6", "--spin-start", "10",
        "--spin-max", "10", "--duration", "2s", "--warmup", "1", "--rate-window", "1s",
        "--no-analyze", "--sweep-id", "s"]


@pytest.fixture
def env(fake_env):
    e = dict(os.environ, WORKER_BIN=os.path.join(FAKES, "worker"),
             DRIVER_BIN=os.path.join(FAKES, "load_driver"),
             LOCAL_SERVING_BIN=os.path.join(FAKES, "local_serving"),
             KPA_MODEL_BIN=os.path.join(FAKES, "kpa_model"))
    for k in ("RPS_START", "SPIN_START", "OUTDIR", "SWEEP_ID", "LOCAL_PODS", "THRESHOLDS"):
        e.pop(k, None)
    return e


def sweep(env, tmp_path, *args, timeout=120):
    r = subprocess.run([RUN, *FAST, "--outdir", str(tmp_path), *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    return r, tmp_path / "s"


def record(d):
    with open(d / "runs.json") as f:
        return json.load(f)


def conf(d):
    return dict(line.rstrip("\n").split("=", 1) for line in open(d / "sweep.conf"))


def started_pids(text):
    return [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]


def test_a_complete_sweep_records_every_run(env, tmp_path):
    r, d = sweep(env, tmp_path, "--local-pods", "2")
    assert r.returncode == 0, r.stderr
    doc = record(d)
    assert doc["sweep"]["status"] == "complete" and doc["sweep"]["finished_utc"]
    assert doc["settings"]["rates"] == [4, 6] and doc["system"]["kind"] == "fixed pods"
    runs = doc["runs"]
    assert [(x["index"], x["rps"], x["spin_ms"], x["repeat"], x["name"]) for x in runs] == [
        (1, 4, 10, 1, "4rps-10ms"), (2, 6, 10, 1, "6rps-10ms")]
    for x in runs:
        assert x["status"] == "ok" and x["collect"] == "ok" and x["idle_confirmed"]
        assert x["files"]["csv"] == f"results-{x['name']}.csv"
        for f in ("csv", "summary", "prometheus"):
            assert (d / x["files"][f]).is_file()
        assert x["counts"]["scheduled"] == 2 * x["rps"]
        assert x["window"]["start"] <= x["window"]["end"]
        assert x["intended_end"] == pytest.approx(x["intended_start"] + 2)
    c = conf(d)
    assert (c["status"], c["system"], c["runs"]) == ("complete", "fixed pods", "2")
    lines = (d / "runs.csv").read_text().splitlines()
    assert lines[0] == "index,repeat,rps,spin_ms,name,idle,launch,status,start,end,collect"
    assert re.match(r"1,1,4,10,4rps-10ms,yes,[0-9.]+,ok,[0-9.]+,[0-9.]+,ok$", lines[1])
    # Two drivers: the p95 is the merged rows' (each 10 ms), not a driver's (11 ms).
    assert "run 2/2 rps=6 spin=10ms ok=12 failed=0 p95=10.0ms" in r.stdout
    assert f"results: {d} (2 of 2 runs)" in r.stdout
    assert not any(alive(p) for p in started_pids(r.stderr))


def test_local_serving_records_its_resolved_settings(env, tmp_path):
    r, d = sweep(env, tmp_path, "--rps-max", "4")
    assert r.returncode == 0, r.stderr
    system = record(d)["system"]
    assert system["kind"] == "local serving" and system["class"] == "kpa"
    assert system["serving_config"]["settings"]["window"] == "6s"
    assert "--pod-start-delay=2s" in system["kpa_model_args"]
    c = conf(d)
    assert json.loads(c["serving_config"]) == system["serving_config"]
    assert c["kpa_model_args"].split() == system["kpa_model_args"]
    assert c["replay_check"].startswith("identical: ")
    assert (c["pod_start_delay"], c["stable_window"], c["idle_pods"]) == ("2s", "6s", "0")


def test_a_threshold_stops_the_sweep(env, tmp_path):
    r, d = sweep(dict(env, FAKE_DRIVER_VIOLATE="1"), tmp_path, "--local-pods", "1",
                 "--threshold", "p99<1ms", "--stop-on-threshold")
    assert r.returncode == 0, r.stderr
    assert "stopping the sweep (--stop-on-threshold): run 1/2 (4rps-10ms) violated " \
           "--threshold p99<1ms" in r.stderr
    doc = record(d)
    assert doc["sweep"]["status"] == "stopped" and doc["sweep"]["stopped_at"] == 1
    assert [x["status"] for x in doc["runs"]] == ["threshold"]
    assert doc["runs"][0]["counts"]["thresholds_violated"] == ["p99<1ms"]
    assert conf(d)["stopped_at"] == "1"


def test_a_violated_threshold_marks_the_run_without_stopping_the_sweep(env, tmp_path):
    r, d = sweep(dict(env, FAKE_DRIVER_VIOLATE="1"), tmp_path, "--local-pods", "1",
                 "--threshold", "p99<1ms")
    assert r.returncode == 0, r.stderr
    doc = record(d)
    assert doc["sweep"]["status"] == "complete"
    assert [x["status"] for x in doc["runs"]] == ["threshold", "threshold"]
    lines = (d / "runs.csv").read_text().splitlines()
    assert [x.split(",")[7] for x in lines[1:]] == ["threshold", "threshold"]
    assert "stopping" not in r.stderr


def test_a_run_without_its_series_fails_the_sweep_after_the_others(env, tmp_path):
    r, d = sweep(dict(env, FAKE_PROM_RANGE_FAIL="1"), tmp_path, "--local-pods", "1")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"run_experiments: error: 2 run(s) have no Prometheus series; see {d}/logs/collect-*.log")
    assert [x["collect"] for x in record(d)["runs"]] == ["failed", "failed"]
    assert conf(d)["status"] == "complete"


def test_a_failed_start_leaves_nothing(env, tmp_path):
    r, d = sweep(dict(env, FAKE_WORKER_DIES="1"), tmp_path, "--local-pods", "1")
    assert r.returncode == 2
    assert "worker-1 exited during start-up" in r.stderr
    assert not d.exists()
    assert not any(alive(p) for p in started_pids(r.stderr))


def error_lines(text):
    return [x for x in text.splitlines() if x.startswith("run_experiments: error: ")]


def test_pods_that_cannot_start_end_the_sweep_with_one_line_naming_their_log(env, tmp_path):
    """Local serving's /state shows a crash-looping pod: the sweep stops before its first
    run and keeps the log it names, whatever that costs the --sweep-id."""
    start = time.monotonic()
    r, d = sweep(dict(env, FAKE_POD_CRASHES="1"), tmp_path)
    assert r.returncode == 2, r.stderr
    assert time.monotonic() - start < 60  # not the idle wait's 96 s
    pod = "worker-00001-deployment-1"
    log = d / "logs" / "pods" / f"{pod}.log"
    assert error_lines(r.stderr) == [
        f"run_experiments: error: before run 1/2 (4rps-10ms): pod {pod} keeps dying (restart "
        f"2, 0s after the previous death): its log ends 'worker: unknown flag --bad-flag "
        f"(see --help)'; see {log}"]
    assert f"warning: pod {pod} died (restart 2); its log ends" in r.stderr
    assert log.is_file()
    assert conf(d)["status"] == "partial"
    assert not any(alive(p) for p in started_pids(r.stderr))


def test_a_fixed_pod_that_exits_mid_run_ends_it_with_its_log(env, tmp_path):
    """Nobody restarts a fixed pod: the run stops at once (the driver would go on for a
    minute), the driver still writes its rows, and the record says the run failed."""
    d = tmp_path / "s"
    start = time.monotonic()
    r, _ = sweep(dict(env, FAKE_DRIVER_SECONDS="60",
                      FAKE_WORKER_EXIT_WHEN=str(d / "logs" / "load_driver-1-4rps-10ms.log")),
                 tmp_path, "--local-pods", "1")
    assert r.returncode == 2, r.stderr
    assert time.monotonic() - start < 45
    assert error_lines(r.stderr) == [
        "run_experiments: error: run 1/2 (4rps-10ms) stopped: worker-1 exited (exit 3); its "
        f"log ends 'fake worker: out of memory (told to crash)'; see {d}/logs/worker-1.log"]
    assert (d / "results-4rps-10ms.csv").is_file()
    doc = record(d)
    assert [x["status"] for x in doc["runs"]] == ["error"]
    assert doc["sweep"]["partial_because"].startswith("failed (exit 2) after 1 of 2 runs "
                                                      "started: run 1/2 (4rps-10ms) stopped: "
                                                      "worker-1 exited (exit 3)")
    assert not any(alive(p) for p in started_pids(r.stderr))


@pytest.mark.parametrize("sig,status,why", [(signal.SIGINT, 130, "interrupted (SIGINT)"),
                                            (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_an_interrupted_sweep_is_partial_and_stops_everything(env, tmp_path, sig, status, why):
    log = tmp_path / "log"
    with open(log, "w") as out:
        p = subprocess.Popen([RUN, *FAST, "--outdir", str(tmp_path)],
                             env=dict(env, FAKE_DRIVER_SECONDS="60"), stdout=out, stderr=out,
                             start_new_session=True)
    driver_log = tmp_path / "s" / "logs" / "load_driver-1-4rps-10ms.log"
    deadline = time.monotonic() + 60
    while not (driver_log.is_file() and "fake driver" in driver_log.read_text()):
        assert p.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    os.killpg(p.pid, sig)  # the whole group, as a terminal's Ctrl-C
    assert p.wait(timeout=60) == status
    text = log.read_text()
    d = tmp_path / "s"
    doc = record(d)
    assert doc["sweep"]["status"] == "partial"
    assert doc["sweep"]["partial_because"] == f"{why} after 1 of 2 runs started"
    assert [x["status"] for x in doc["runs"]] == ["interrupted"]
    assert conf(d)["partial_because"] == f"{why} after 1 of 2 runs started"
    assert "finished_utc" not in conf(d)
    assert (d / "results-4rps-10ms.csv").is_file()  # the driver wrote what it had
    assert (d / "runs.csv").read_text().splitlines()[1].endswith(",interrupted,,,")
    assert not any(alive(pid) for pid in started_pids(text))
    assert not list(tmp_path.glob("knbench-local.*"))


def test_dry_run_starts_nothing(env, tmp_path):
    r, d = sweep(env, tmp_path, "--dry-run", "--repeat", "2")
    assert r.returncode == 0 and not d.exists()
    assert "runs=4" in r.stdout.splitlines() and "stable_window=6s" in r.stdout.splitlines()
    assert r.stdout.count("\nplan ") == 4
