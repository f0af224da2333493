"""The sweep's plan and settings (knbench_sweep.plan, .settings, .options, .durations):
the grid and its orders, names, bounds, the 10000-run cap, flag > environment > default,
and the one Go-duration parser."""
import random

import pytest

from knbench_sweep import durations, helptext, options, settings
from knbench_sweep.console import UsageError
from knbench_sweep.plan import build_plan, plan_line


def resolve(*argv, **env):
    return settings.resolve(list(argv), env)


def test_grid_order_is_repeat_then_spin_then_rps():
    plan = build_plan([20, 110], [10, 55], 2)
    assert [(p.repeat, p.spin_ms, p.rps) for p in plan] == [
        (1, 10, 20), (1, 10, 110), (1, 55, 20), (1, 55, 110),
        (2, 10, 20), (2, 10, 110), (2, 55, 20), (2, 55, 110)]
    assert [p.index for p in plan] == list(range(1, 9))
    assert plan[-1].name == "110rps-55ms-r2"
    assert build_plan([20], [10], 1)[0].name == "20rps-10ms"
    assert plan_line(plan[-1], 8) == "plan 8/8 rps=110 spin=55ms repeat=2 files=*-110rps-55ms-r2.*"
    assert plan[0].files()["prometheus"] == "prometheus-20rps-10ms-r1.json"


def test_shuffled_is_the_kits_shuffle_of_the_same_lines():
    rates, spins = [20, 110, 200], [10, 55, 100]
    # What the kit has always done: shuffle the "spin rps repeat" lines of the grid plan.
    lines = [f"{s} {r} {k}" for k in (1, 2) for s in spins for r in rates]
    random.Random(7).shuffle(lines)
    got = [f"{p.spin_ms} {p.rps} {p.repeat}" for p in build_plan(rates, spins, 2, "shuffled", 7)]
    assert got == lines
    assert got != [f"{p.spin_ms} {p.rps} {p.repeat}" for p in build_plan(rates, spins, 2,
                                                                           "shuffled", 8)]


def test_defaults_per_mode_and_flag_over_env_over_default():
    s = resolve()
    assert (s.rates, s.spins, s.duration_s, s.warmup_s, s.rate_window_s) == \
        ([20, 110, 200], [10, 100], 20, 5, 3)
    c = resolve("--mode", "cluster")
    assert (c.rates, c.spins, c.duration_s, c.total_runs) == ([10, 50, 90, 130],
                                                            [100, 400, 700, 1000], 720, 16)
    s = resolve("--rps-max=10", RPS_START="5", RPS_STEP="5", RPS_MAX="15")
    assert s.rates == [5, 10]
    assert (s.what("rps_max"), s.what("rps_start"), s.what("spin_max")) == \
        ("--rps-max", "RPS_START", "--spin-max")
    assert resolve(LOCAL_WORKERS="2").local_pods == 2
    assert resolve("--workers", "3", LOCAL_PODS="2").what("local_pods") == "--workers"
    assert resolve("--threshold", "p99<1s", "--threshold=max<2s").thresholds == \
        ["p99<1s", "max<2s"]
    assert resolve(THRESHOLDS="p99<1s failure_rate<0.1,x>1").thresholds == \
        ["p99<1s", "failure_rate<0.1", "x>1"]
    # A value that looks like a flag is the value of the flag before it.
    assert resolve("--serving-args", "--noenable-scale-to-zero").serving_args == \
        ["--noenable-scale-to-zero"]
    assert resolve("--serving-args", "").serving_args == []


@pytest.mark.parametrize("argv,env,message", [
    (["--rps-step", "0"], {}, "--rps-step must be a whole number of requests/s from 1 to "
                              "10000000, got '0'"),
    ([], {"RPS_STEP": "1e3"}, "RPS_STEP must be a whole number of requests/s"),
    (["--spin-start", "-5"], {}, "--spin-start must be a whole number of ms from 1 to 600000"),
    ([], {"SPIN_START": "700000", "SPIN_MAX": "700000"}, "SPIN_START must be a whole number"),
    (["--duration", "1.5s"], {}, "--duration must be a whole-second duration"),
    (["--duration", "169h"], {}, "--duration must be a whole-second duration from 1s to 168h"),
    (["--rate-window", "500ms"], {}, "--rate-window must be a whole-second duration"),
    (["--warmup", "30"], {}, "the warm-up (30s, --warmup) must be shorter than the run (20s, "
                             "--duration)"),
    (["--fail-threshold", "2"], {}, "--fail-threshold must be a ratio between 0 and 1, got '2'"),
    (["--seed", "4294967296"], {}, "--seed must be a whole number from 0 to 4294967295"),
    (["--order", "random"], {}, "--order must be grid or shuffled, got 'random'"),
    (["--workers", "two"], {}, "--workers must be a whole number of worker processes from 1 "
                               "to 64, got 'two'"),
    (["--rps-start", "2", "--workers", "3"], {}, "--rps-start (2) is below --workers (3)"),
    ([], {"RPS_START": "300", "RPS_MAX": "20"}, "RPS_START (300) is above RPS_MAX (20)"),
    (["--mode", "cluster", "--serving-args", "x"], {}, "--serving-args is local-mode only"),
    (["--mode", "cluster"], {"THRESHOLDS": "p99<1s"}, "--threshold is local-mode only"),
    (["--stop-on-threshold"], {}, "--stop-on-threshold needs at least one --threshold"),
    (["--sweep-id", "../x"], {}, "--sweep-id may hold only letters"),
    (["--mode", "k8s"], {}, "--mode must be local or cluster, got 'k8s'"),
    (["--bogus"], {}, "unknown argument '--bogus' (see --help)"),
    (["--rps-step"], {}, "--rps-step needs a value (see --help)"),
    (["--mode", "cluster"], {"CLUSTER_DRIVER_PODS": "0"}, "CLUSTER_DRIVER_PODS must be a whole "
                                                          "number of pods from 1 to 1000"),
])
def test_bad_input_names_what_the_user_wrote(argv, env, message):
    with pytest.raises(UsageError) as e:
        settings.resolve(argv, env)
    assert str(e.value).startswith(message), str(e.value)


def test_ten_thousand_runs_at_most():
    assert resolve("--rps-start", "1", "--rps-step", "1", "--rps-max", "5000",
                   "--spin-max", "100", "--spin-step", "90").total_runs == 10000
    with pytest.raises(UsageError, match="the plan has 10001 runs"):
        resolve("--rps-start", "1", "--rps-step", "1", "--rps-max", "10001",
                "--spin-max", "10")


def test_cluster_env_is_ignored_in_local_mode_and_read_in_cluster_mode():
    assert resolve(CLUSTER_IDLE_POLL="x").cluster_idle_poll is None
    assert resolve("--mode", "cluster", CLUSTER_IDLE_POLL="0.1").cluster_idle_poll == 0.1
    assert resolve("--mode", "cluster", KUBECTL="kubectl --context x").kubectl == \
        ["kubectl", "--context", "x"]


def test_help_and_conf_come_from_the_table():
    text = helptext.usage()
    for opt in options.OPTIONS:
        for word in opt.flags + opt.envs:
            assert word in text, word
    conf = settings.conf_lines(resolve("--repeat", "2", "--threshold", "p99<1s"))
    assert {k: conf[k] for k in ("repeat", "thresholds", "stop_on_threshold", "fail_threshold",
                                 "run_duration_s", "rps", "runs")} == {
        "repeat": "2", "thresholds": "p99<1s", "stop_on_threshold": "0",
        "fail_threshold": "0.10", "run_duration_s": "20", "rps": "20 110 200", "runs": "12"}


@pytest.mark.parametrize("text,ns", [
    ("0", 0), ("1h", 3600 * 10**9), ("1m30s", 90 * 10**9), ("1.5s", 1500 * 10**6),
    (".5ms", 500000), ("-2s", -2 * 10**9), ("1h2m3s4ms5us6ns", 3723004005006),
    ("\u00b5s", None), ("1", None), ("", None), ("5x", None), ("1s2", None), (".s", None),
    ("9999999999s", None), ("2562047h47m16.854775807s", 2**63 - 1),
    ("2562047h47m16.854775808s", None)])
def test_go_durations(text, ns):
    if ns is None:
        with pytest.raises(ValueError):
            durations.parse_ns(text)
    else:
        assert durations.parse_ns(text) == ns


def test_whole_seconds_and_hms():
    assert [durations.whole_seconds(t) for t in ("90", "90s", "12m", "1m30s", "2h3m4s",
                                                 "2000ms")] == [90, 90, 720, 90, 7384, 2]
    for bad in ("1.5s", "500ms", "-3s", "99999999999999999999", "m", ""):
        with pytest.raises(ValueError):
            durations.whole_seconds(bad)
    assert [durations.hms(t) for t in (45, 123, 3723)] == ["45s", "2m03s", "1h02m03s"]
    assert durations.seconds_or("bad", 60) == 60 and durations.seconds_or("1m", 0) == 60
