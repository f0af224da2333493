"""What a real sweep would refuse only after seconds of setup, refused before anything
starts, and by --dry-run too (which would otherwise print a plan that cannot run): in
local mode, the drivers' flags as load_driver reads them (--threshold, DRIVER_ARGS), then
each binary and Prometheus (the check the local backend's setup makes)."""

import os
import subprocess
from typing import List

from . import procs, thresholds, traces
from .console import UsageError
from .local_drivers import driver_argv

CHECK_TIMEOUT_S = 30


def check(s, parts: List, first_point) -> None:
    """UsageError (one line) on the first thing the sweep would fail on."""
    if s.mode != "local":
        return  # the cluster runs images; its drivers take no --threshold
    check_driver_flags(s, first_point, parts[0].directory)
    for part in parts:
        part.backend.check_binaries()


def check_driver_flags(s, point, directory: str) -> None:
    """The first run's driver command line, checked by load_driver --check-config (it
    touches no file and no network); without the binary, the --threshold grammar."""
    if os.path.isfile(s.driver_bin) and os.access(s.driver_bin, os.X_OK):
        names = dict(point.files(), **traces.run_files(s, point.name))
        files = {k: os.path.join(directory, v) for k, v in names.items()}
        argv = driver_argv(s, point.rps, point.spin_ms, "127.0.0.1:1", files["csv"],
                           files["summary"], 0, files.get("traces", ""))
        try:
            r = procs.run(argv + ["--check-config"], timeout=CHECK_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise UsageError(f"{s.driver_bin} --check-config: {e}")
        if r.returncode != 0:
            lines = [x for x in r.stderr.splitlines() if x.strip()] or [f"exit {r.returncode}"]
            raise UsageError("load_driver refuses the drivers' flags (--threshold, "
                             f"DRIVER_ARGS): {lines[-1]}")
        return
    for spec in s.thresholds or []:
        why = thresholds.problem(spec)
        if why:
            raise UsageError(f"{s.what('thresholds')} '{spec}': {why}")
