"""scripts/run_experiments.sh: resolve the settings, plan, then --dry-run or the sweep."""

import os
import sys
from typing import List, Optional

from . import procs
from . import settings as settings_mod
from .cluster import ClusterBackend
from .console import UsageError, error_line, say
from .helptext import usage
from .local import LocalBackend
from .plan import build_plan, plan_line
from .provenance import provenance
from .runner import Planned, Sweep
from .sut import systems


def make_backend(s, sut, log_dir: str = ""):
    return ClusterBackend(s, sut) if sut.kind == "cluster" else LocalBackend(s, sut, log_dir)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    procs.on_signals(procs.raise_interrupted)  # the sweep logs its own once it runs
    try:
        s = settings_mod.resolve(argv, os.environ)
        sut = systems(s)[0]
        points = build_plan(s.rates, s.spins, s.repeat, s.order, s.seed)
        sweep_dir = os.path.join(s.outdir, s.sweep_id)
        # Process logs go to the sweep directory's logs/ (created before the setup).
        backend = make_backend(s, sut, os.path.join(os.path.abspath(sweep_dir), "logs"))
        conf = dict(settings_mod.conf_lines(s), sweep_dir=sweep_dir, **backend.plan())
        per_run, setup = backend.planned_overhead()
        planned = Planned(len(points), s.duration_s, per_run, setup)
    except settings_mod.HelpRequested:
        sys.stdout.write(usage())
        return 0
    except UsageError as e:
        error_line(str(e))
        return 2
    except procs.Interrupted as e:
        return e.exit_status
    if s.dry_run:
        for k, v in conf.items():
            say(f"{k}={v}")
        say(f"prom_url={s.prom_url}")
        say(f"planned_time={planned.line()}")
        for p in points:
            say(plan_line(p, len(points)))
        return 0
    conf.update(provenance(s.duration_s, s.warmup_s))
    try:
        return Sweep(s, backend, points, conf, planned).execute()
    except UsageError as e:
        error_line(str(e))
        return 2
    except procs.Interrupted as e:
        return e.exit_status


if __name__ == "__main__":
    sys.exit(main())
