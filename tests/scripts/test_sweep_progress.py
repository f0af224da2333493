"""The sweep's live line (knbench_sweep.progress): the drivers' progress lines summed, shown
at once on a terminal, and in a log or a pipe at most every 10 s or each tenth of the run,
whichever is less frequent (issue 21: about 120 lines for the quick start before)."""
import os
import subprocess

import pytest

from conftest import FAKES, ROOT
from knbench_sweep import progress
from knbench_sweep.plan import build_plan
from knbench_sweep.progress import SweepClock, Ticker


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def driver_line(elapsed, ok):
    return (f"2026-01-01T00:00:00.000Z load_driver: elapsed {elapsed:.1f}s target 20.0 rps "
            f"sent {ok} ok {ok} failed 0 dropped 0 inflight 0 p99 12ms (last 1s: 20 ok)")


def ticks(duration_s, seconds, on_terminal):
    """A Ticker fed a new driver line each second for `seconds` s: when it showed one."""
    clock = Clock()
    point = build_plan([20], [10], 1)[0]
    shown = []
    ticker = Ticker(lambda _: [driver_line(clock.t, int(20 * clock.t))], point,
                    SweepClock(1, duration_s), duration_s, on_terminal, clock)
    for t in range(1, seconds + 1):
        clock.t = float(t)
        before = ticker.shown_at
        ticker.tick()
        if ticker.shown_at != before:
            shown.append(t)
    return shown


def test_every_s_is_10_s_or_a_tenth_of_the_run_in_a_log_and_nothing_on_a_terminal():
    assert progress.every_s(20, False) == 10
    assert progress.every_s(720, False) == 72
    assert progress.every_s(720, True) == 0


@pytest.mark.parametrize("duration_s,seconds,want", [
    (20, 20, [1, 11]),  # the quick start's runs: 2 lines each, not 20
    (720, 720, [1, 73, 145, 217, 289, 361, 433, 505, 577, 649]),  # 12 min: a tenth each
    (4, 4, [1])])
def test_in_a_log_a_line_every_10_s_or_each_tenth_of_the_run(duration_s, seconds, want,
                                                            capsys):
    assert ticks(duration_s, seconds, on_terminal=False) == want
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(want)
    assert out[0].startswith(f"progress run 1/1 rps=20 spin=10ms: 1.0s of {duration_s}s, "
                             "20.0 ok/s, 20 ok, 0 failed | sweep ")


def test_on_a_terminal_every_change_shows_and_an_unchanged_sum_does_not():
    assert ticks(20, 20, on_terminal=True) == list(range(1, 21))
    clock = Clock()
    point = build_plan([20], [10], 1)[0]
    ticker = Ticker(lambda _: [driver_line(1, 20)], point, SweepClock(1, 20), 20, True, clock)
    ticker.tick()
    clock.t = 5
    ticker.tick()
    assert ticker.shown_at == 0  # the same sum is not shown again


def test_a_piped_sweep_logs_few_progress_lines(fake_env, tmp_path):
    """End to end through a pipe: a driver that reports every second for 12 s gives one
    or two live lines (the first, then 10 s later), not one per second."""
    env = dict(os.environ, WORKER_BIN=os.path.join(FAKES, "worker"),
               DRIVER_BIN=os.path.join(FAKES, "load_driver"), FAKE_DRIVER_SECONDS="12")
    for k in ("THRESHOLDS", "LOCAL_PODS", "OUTDIR", "SWEEP_ID"):
        env.pop(k, None)
    r = subprocess.run([os.path.join(ROOT, "scripts", "run_experiments.sh"), "--local-pods",
                        "1", "--rps-start", "4", "--rps-max", "4", "--spin-start", "10",
                        "--spin-max", "10", "--duration", "2s", "--warmup", "1",
                        "--rate-window", "1s", "--no-analyze", "--outdir", str(tmp_path),
                        "--sweep-id", "s"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    live = [x for x in r.stdout.splitlines() if x.startswith("progress run 1/1 ")]
    assert 1 <= len(live) <= 2, r.stdout
