"""One run on the local stack, then a command against it while it is still up.

Usage: python3 -m knbench_sweep.one_run --out DIR [run_experiments.sh options] -- COMMAND...

Brings up the local backend exactly as the sweep does (local serving, or --local-pods N
fixed workers; the binaries from --build-dir or WORKER_BIN, DRIVER_BIN, ...), runs one
driver run at --rps-start requests/s x --spin-start ms for --duration into DIR
(results.csv, summary.json, logs/; with --trace-sample-rate above 0, as by default,
traces-<run>.jsonl and traces-<run>-pods.jsonl), then runs COMMAND with PROM_URL (the
stack's Prometheus) and KNBENCH_RUN_END (when the run's traffic ended, epoch s) in its
environment, and stops everything. Exit status: COMMAND's; 2 when the stack or the run
failed or the options are bad; 130/143 on SIGINT/SIGTERM.
"""

import os
import sys
from typing import List

from . import console, procs, settings, tmpdirs
from .console import RunFailed, UsageError, error_line
from .local import LocalBackend
from .plan import build_plan
from .sut import systems


def split_argv(argv: List[str]):
    """(DIR, the sweep's options, COMMAND)."""
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        raise UsageError("usage: python3 -m knbench_sweep.one_run --out DIR [options] -- "
                         "COMMAND... (see --help)")
    i = argv.index("--")
    options, command = argv[:i], argv[i + 1:]
    if "--out" not in options or options.index("--out") == len(options) - 1:
        raise UsageError("--out DIR is required (see --help)")
    j = options.index("--out")
    return options[j + 1], options[:j] + options[j + 2:], command


def run(out: str, options: List[str], command: List[str]) -> int:
    s = settings.resolve(["--mode", "local", *options], os.environ)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    work = tmpdirs.OnDemand("knbench-one-run")  # an hpa class's rendered manifest
    point = build_plan(s.rates[:1], s.spins[:1], 1)[0]
    procs.on_signals(procs.raise_interrupted)
    backend = None
    try:
        # The first class of --autoscalers, if several.
        backend = LocalBackend(s, systems(s, work.path)[0], os.path.join(out, "logs"))
        backend.setup()
        backend.run(point, os.path.join(out, "results.csv"), os.path.join(out, "summary.json"))
        env = dict(os.environ, PROM_URL=backend.prom_url,
                   KNBENCH_RUN_END=f"{backend.last_end:.3f}")
        return procs.run(command, env=env, capture=False).returncode
    finally:
        procs.default_signals()
        if backend is not None:
            backend.teardown()
        work.remove()


def main(argv: List[str]) -> int:
    console.set_name("one_run")
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(__doc__.lstrip())
        return 0
    try:
        return run(*split_argv(argv))
    except procs.Interrupted as e:
        return e.exit_status
    except (UsageError, RunFailed, procs.StartError, OSError) as e:
        error_line(str(e))
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
