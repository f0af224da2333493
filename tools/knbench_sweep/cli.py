"""scripts/run_experiments.sh: resolve the settings, plan (per autoscaler class with
--autoscalers), then --dry-run or the sweep."""

import os
import sys
from typing import List, Optional

from . import classes, preflight, procs, tmpdirs
from . import settings as settings_mod
from .cluster import ClusterBackend
from .console import UsageError, error_line, say
from .helptext import usage
from .local import LocalBackend
from .plan import build_plan
from .provenance import provenance
from .runner import Planned
from .sut import systems

WORK_PREFIX = "knbench-sweep"


def make_backend(s, sut, log_dir: str = ""):
    return ClusterBackend(s, sut) if sut.kind == "cluster" else LocalBackend(s, sut, log_dir)


def plan_parts(s, work: tmpdirs.OnDemand, n_points: int) -> List[classes.Part]:
    """Each system's backend, its settings for sweep.conf and its planned time. Several
    classes: each in OUTDIR/<sweep-id>/<class>/."""
    suts = systems(s, work.path)
    top = os.path.join(s.outdir, s.sweep_id)
    parts = []
    for sut in suts:
        label = sut.autoscaler_class if len(suts) > 1 else ""
        directory = os.path.join(top, label) if label else top
        # Process logs go to the sweep directory's logs/ (created before the setup).
        backend = make_backend(s, sut, os.path.join(os.path.abspath(directory), "logs"))
        conf = dict(settings_mod.conf_lines(s), sweep_dir=directory, **backend.plan())
        per_run, setup = backend.planned_overhead()
        parts.append(classes.Part(label, backend, conf,
                                  Planned(n_points, s.duration_s, per_run, setup), directory))
    return parts


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    procs.on_signals(procs.raise_interrupted)  # the sweep logs its own once it runs
    work = tmpdirs.OnDemand(WORK_PREFIX)  # the hpa class's rendered manifest, if needed
    try:
        return _main(argv, work)
    finally:
        work.remove()


def _main(argv: List[str], work: tmpdirs.OnDemand) -> int:
    try:
        s = settings_mod.resolve(argv, os.environ)
        points = build_plan(s.rates, s.spins, s.repeat, s.order, s.seed)
        parts = plan_parts(s, work, len(points))
        preflight.check(s, parts, points[0])
    except settings_mod.HelpRequested:
        sys.stdout.write(usage())
        return 0
    except UsageError as e:
        error_line(str(e))
        return 2
    except procs.Interrupted as e:
        return e.exit_status
    if s.dry_run:
        common = dict(settings_mod.conf_lines(s), sweep_dir=os.path.join(s.outdir, s.sweep_id))
        for line in classes.dry_run_lines(parts, points, common, s.prom_url):
            say(line)
        return 0
    try:
        return classes.execute(s, parts, points, provenance(s.duration_s, s.warmup_s))
    except UsageError as e:
        error_line(str(e))
        return 2
    except procs.Interrupted as e:
        return e.exit_status


if __name__ == "__main__":
    sys.exit(main())
