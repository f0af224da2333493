"""run_experiments.sh --help: the words around the option table, and the table itself
as options.py describes it."""

import textwrap

from .options import OPTIONS, Option

HEAD = """\
Usage: scripts/run_experiments.sh [--mode local|cluster] [options]

Runs the RPS x spin-ms grid (spin in the outer loop, RPS in the inner one),
one load_driver run per point. Local mode runs everything on this machine:
by default the worker behind local_serving (Knative's activator, queue-proxy
and KPA autoscaler, pods scaled from zero and back), with --local-pods N
fixed worker processes and no autoscaler. Cluster mode runs one driver Job
per point on a Knative cluster. It writes OUTDIR/<sweep-id>/:
  results-<rps>rps-<spin>ms.csv      the driver's per-request CSV
  summary-<rps>rps-<spin>ms.json     the driver's summary
  prometheus-<rps>rps-<spin>ms.json  collect_prometheus.sh over the run's window
  runs.json                          the sweep's resolved settings (local
                                     serving's included) and one record per run:
                                     grid point, repeat, times, files, status
  sweep.conf, runs.csv               settings and provenance; one line per run
                                     with its status (ok, over_fail_threshold,
                                     threshold, error, interrupted)
  logs/                              process logs (local mode; local serving:
                                     local_serving.log, pods/, and its
                                     replayable local_serving-stats.csv and
                                     local_serving-decisions.csv)
  plots, summary.csv, report.html    tools/analyze_plot.py (unless --no-analyze)
With --autoscalers kpa,hpa the grid runs under each autoscaler class in turn,
each into OUTDIR/<sweep-id>/<class>/ as above, then comparison.html,
comparison.txt and comparison.json (analyze_plot.py --compare of them) go to
OUTDIR/<sweep-id>/.
The sweep stops after a run whose (failure+dropped)/scheduled exceeds
FAIL_THRESHOLD. Exit status: 0 when it ran (a threshold stopping it
included), 2 on bad input or a run that could not be carried out or
collected, 130 on SIGINT, 143 on SIGTERM.
"""

TAIL = """\
  -h, --help             this help
A flag wins over its environment variable, which wins over the default.
"""

WIDTH = 79
INDENT = " " * 25


def _default(opt: Option) -> str:
    if opt.shown:
        return opt.shown
    d = opt.default
    if isinstance(d, dict):
        return " | ".join(str(d[m]) for m in ("local", "cluster"))
    if d is None or d is False or d == "" or callable(d):
        return ""
    return str(d)


def _entry(opt: Option) -> str:
    name = opt.flags[0] + (f" {opt.metavar}" if opt.metavar else "") if opt.flags else ""
    if len(opt.flags) > 1:
        name += " (" + ", ".join(f"{f} {opt.metavar}".strip() for f in opt.flags[1:]) + ")"
    envs = " ".join(opt.envs[:1] + tuple(f"(or {e})" for e in opt.envs[1:]))
    default = _default(opt)
    where = "" if len(opt.modes) > 1 else f"{opt.modes[0]} mode: "
    head = (f"  {name:<22} {envs}" if name else f"  {envs}").rstrip()
    body = f"{where}{opt.help}" + (f" [{default}]" if default else "")
    return head + "\n" + textwrap.fill(body, WIDTH, initial_indent=INDENT,
                                       subsequent_indent=INDENT,
                                       break_on_hyphens=False) + "\n"


def usage() -> str:
    flags = [o for o in OPTIONS if o.flags]
    env_only = [o for o in OPTIONS if not o.flags]
    return (HEAD + "\nOptions (flag, environment variable; [default local | cluster]):\n"
            + "".join(_entry(o) for o in flags) + TAIL
            + "\nEnvironment only ([default]; the binaries' defaults are under --build-dir):\n"
            + "".join(_entry(o) for o in env_only))
