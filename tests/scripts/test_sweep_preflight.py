"""What a real sweep would refuse after its setup is refused before anything starts, by
--dry-run too: a binary that is not built (named, exit 2, no plan printed as if it could
run) and drivers' flags load_driver refuses (--threshold 'p99<', DRIVER_ARGS), in
load_driver's own words when it is built, else by the documented --threshold grammar.
KNBENCH_LOAD_DRIVER (set by ctest) is the real load_driver; without it the tests that
need it are skipped."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import FAKES, ROOT
from knbench_sweep import thresholds

RUN = os.path.join(ROOT, "scripts", "run_experiments.sh")
REAL_DRIVER = os.environ.get("KNBENCH_LOAD_DRIVER", "")
needs_driver = pytest.mark.skipif(not os.access(REAL_DRIVER, os.X_OK),
                                  reason="KNBENCH_LOAD_DRIVER (the built load_driver) not set")
SWEEP_VARS = ("RPS_START", "SPIN_START", "OUTDIR", "SWEEP_ID", "LOCAL_PODS", "THRESHOLDS",
              "BUILD_DIR", "WORKER_BIN", "DRIVER_BIN", "LOCAL_SERVING_BIN", "KPA_MODEL_BIN",
              "DRIVER_ARGS", "WORKER_ARGS")


@pytest.fixture
def env(fake_env):
    """The stand-ins as the built binaries, and the stand-in Prometheus on PATH."""
    e = {k: v for k, v in os.environ.items() if k not in SWEEP_VARS}
    e.update(WORKER_BIN=os.path.join(FAKES, "worker"),
             DRIVER_BIN=os.path.join(FAKES, "load_driver"),
             LOCAL_SERVING_BIN=os.path.join(FAKES, "local_serving"))
    return e


def run(env, tmp_path, *args):
    return subprocess.run([RUN, "--outdir", str(tmp_path), "--sweep-id", "s", "--no-analyze",
                           "--duration", "2s", "--warmup", "1", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def one_error(r, message):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.splitlines() == [f"run_experiments: error: {message}"]
    assert r.stdout == ""  # no plan, no binary path printed as if it would run


def test_dry_run_with_nothing_built_names_the_missing_binary(env, tmp_path):
    for k in ("WORKER_BIN", "DRIVER_BIN", "LOCAL_SERVING_BIN"):
        env.pop(k)
    env["BUILD_DIR"] = str(tmp_path / "no-build")
    one_error(run(env, tmp_path, "--dry-run"),
              f"local_serving binary not found or not executable: '{tmp_path}/no-build/"
              "local_serving/local_serving' (build it, set --build-dir / LOCAL_SERVING_BIN, "
              "or use --local-pods N for fixed workers)")
    one_error(run(env, tmp_path, "--dry-run", "--local-pods", "1"),
              f"worker binary not found or not executable: '{tmp_path}/no-build/worker/worker' "
              "(build it, or set --build-dir / WORKER_BIN)")
    env["WORKER_BIN"] = os.path.join(FAKES, "worker")
    one_error(run(env, tmp_path, "--dry-run", "--local-pods", "1"),
              f"load_driver binary not found or not executable: '{tmp_path}/no-build/"
              "load_driver/load_driver' (build it, or set --build-dir / DRIVER_BIN)")
    assert not (tmp_path / "s").exists()
    # The cluster runs images, not these binaries.
    assert run(env, tmp_path, "--dry-run", "--mode", "cluster").returncode == 0


def test_dry_run_without_prometheus_says_so(env, tmp_path):
    path = tmp_path / "bin"  # what run_experiments.sh needs, and no prometheus
    path.mkdir()
    for tool in ("bash", "dirname"):
        (path / tool).symlink_to(shutil.which(tool))
    env["PATH"] = str(path)
    one_error(run(env, tmp_path, "--dry-run"),
              "prometheus not found on PATH (Debian package 'prometheus'; "
              "scripts/install_deps.sh installs it)")


def test_dry_run_with_everything_there_prints_the_plan(env, tmp_path):
    r = run(env, tmp_path, "--dry-run", "--threshold", "p99<1s")
    assert r.returncode == 0, r.stderr
    assert f"worker_bin={FAKES}/worker" in r.stdout.splitlines()
    assert "thresholds=p99<1s" in r.stdout.splitlines()


@pytest.mark.parametrize("args,env_extra,message", [
    (["--threshold", "p99<"], {}, "--threshold 'p99<': no value after the comparison"),
    ([], {"THRESHOLDS": "p99<1s p98<1s"},
     "THRESHOLDS 'p98<1s': unknown metric \"p98\"; " + thresholds.GRAMMAR),
    (["--threshold", "p99<200"], {}, "--threshold 'p99<200': a latency needs a unit "
                                     "(200ms, 1.5s, 800us)")])
def test_without_the_driver_the_threshold_grammar_refuses_a_bad_spec(env, tmp_path, args,
                                                                     env_extra, message):
    env.update(env_extra, DRIVER_BIN=str(tmp_path / "no-driver"))
    one_error(run(env, tmp_path, "--dry-run", *args), message)


@needs_driver
def test_with_the_driver_its_own_check_refuses_the_drivers_flags(env, tmp_path):
    env["DRIVER_BIN"] = REAL_DRIVER
    one_error(run(env, tmp_path, "--dry-run", "--threshold", "p99<"),
              "load_driver refuses the drivers' flags (--threshold, DRIVER_ARGS): "
              "load_driver: --threshold \"p99<\": no value after the comparison (see --help)")
    one_error(run(dict(env, DRIVER_ARGS="--bogus"), tmp_path, "--dry-run"),
              "load_driver refuses the drivers' flags (--threshold, DRIVER_ARGS): "
              "load_driver: unknown flag --bogus (see --help)")
    assert run(env, tmp_path, "--dry-run", "--threshold", "p99<1s,failure_rate<1%").returncode == 0


@needs_driver
def test_a_real_sweep_refuses_a_bad_threshold_before_its_setup(env, tmp_path):
    env["DRIVER_BIN"] = REAL_DRIVER
    start = time.monotonic()
    r = run(env, tmp_path, "--threshold", "p99<")
    assert time.monotonic() - start < 20  # not after the setup's seconds
    one_error(r, "load_driver refuses the drivers' flags (--threshold, DRIVER_ARGS): "
                 "load_driver: --threshold \"p99<\": no value after the comparison (see --help)")
    assert not (tmp_path / "s").exists()
    # Nothing started: local_serving was only asked for its settings.
    calls = [json.loads(x) for x in (tmp_path / "calls").read_text().splitlines()]
    assert calls and all(c["name"] == "local_serving" and "--check-config" in c["argv"]
                         for c in calls)


SPECS = ["p99<200ms", "send_p95<50ms", "intended_p50<=1.5s", "p999<1s", "p99.9<800us",
         "min>=0s", "mean<1h", "max>1m30s", "p90<-0s", "p50<.5s", "failure_rate<0.01",
         "failure_rate<=1%", "failure_rate<100%", "failure_rate>0", "achieved_rps>=95",
         "achieved_rps>0.5", " p99 < 200ms ",
         "p99<", "p99", "<1s", ">", "p98<1s", "p99<200", "p99<-1s", "p99<1x", "p99<1e3ms",
         "p99<inf", "p99=1s", "p99<<1s", "p99>=", "failure_rate<2", "failure_rate<101%",
         "failure_rate<-0.1", "failure_rate<nan", "failure_rate<%", "achieved_rps<-1",
         "achieved_rps<fast", "achieved_rps<inf", "send_failure_rate<0.1", "send_p99",
         "intended_send_p99<1s", "P99<1s"]


def test_the_grammar_takes_what_the_docs_show_and_refuses_the_rest():
    assert [s for s in SPECS[:17] if thresholds.problem(s)] == []
    assert [s for s in SPECS[17:] if not thresholds.problem(s)] == []


@needs_driver
def test_the_grammar_agrees_with_load_driver_on_every_spec():
    for spec in SPECS:
        r = subprocess.run([REAL_DRIVER, "--check-config", f"--threshold={spec}"],
                           capture_output=True, text=True, timeout=30)
        assert (r.returncode == 0) == (thresholds.problem(spec) is None), (spec, r.stderr)
