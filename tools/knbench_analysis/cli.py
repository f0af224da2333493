"""Command line of tools/analyze_plot.py."""

import argparse
import math
import os
import shlex
import sys
import json
from typing import List, Optional, Tuple

from . import breakdown, kpa, plots, report, traces, whatif
from . import compare
from .loading import InputError, fmt_num
from .promcheck import run_checks
from .repeats import grid_points
from .stats import AnalysisOptions
from .steps import run_steps
from .sweep import analyze_sweep, read_sweep_info


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="analyze_plot.py",
        description="Plots, summary.csv and report.html for one sweep's results directory "
                    "(results-<rps>rps-<spin>ms.csv, optional summary-*.json and "
                    "prometheus-*.json). Also reads the original project's six-column CSVs.")
    p.add_argument("results_dir", nargs="?", default="results",
                   help="directory with results-<rps>rps-<spin>ms.csv files (default: results)")
    p.add_argument("--compare", nargs="+", metavar="DIR",
                   help="put sweeps side by side instead (two or more; the first is the "
                        "baseline): each DIR is a sweep directory or the --out-dir of an "
                        "analysis of one (its model-*.csv and analysis.json are used). Writes "
                        "compare.html, compare.csv and plots to --out-dir (default: "
                        "compare-A-vs-B beside the first)")
    p.add_argument("--labels", metavar="A,B,...",
                   help="names of the compared sweeps (default: their directory names, "
                        "with parents where two share one: a/S, b/S)")
    p.add_argument("--out-dir", help="where plots, summary.csv and report.html go "
                                     "(default: the results directory)")
    p.add_argument("--warmup-seconds", type=float, default=None, metavar="N",
                   help="discard rows whose intended send is in the first N s of each run. "
                        "Default: the CSV's warmup column when present, else 120 s (as the "
                        "original)")
    p.add_argument("--latency-basis", choices=("intended", "send"), default="intended",
                   help="intended: latency from the intended send time (intended_latency_us, "
                        "includes schedule lag; default); send: from the actual send "
                        "(latency_us). Six-column CSVs always use latency_ms")
    p.add_argument("--kpa-model", metavar="PATH",
                   help="KPA model binary: run 'PATH --input RUN.csv --output "
                        "model-<rps>rps-<spin>ms.csv ARGS' per run and plot its desired pods")
    p.add_argument("--kpa-args", default="", metavar="ARGS",
                   help="a what-if for --kpa-model (one string, shell-split): these flags "
                        "replace the same flags of the settings the sweep ran with (its "
                        "runs.json), the others stay; the report says what changed")
    p.add_argument("--no-run-plots", action="store_true",
                   help="skip the per-run pods and timeline plots (faster on big sweeps)")
    args = p.parse_args(argv)
    if args.warmup_seconds is not None and (args.warmup_seconds < 0
                                            or not math.isfinite(args.warmup_seconds)):
        p.error("--warmup-seconds must be a finite number >= 0")
    try:
        args.kpa_args_list = shlex.split(args.kpa_args)
    except ValueError as e:
        p.error(f"--kpa-args: {e}")
    if args.compare is not None:
        if len(args.compare) < 2:
            p.error("--compare needs at least two directories")
        try:
            labels = args.labels.split(",") if args.labels else \
                compare.default_labels(args.compare)
        except ValueError as e:
            p.error(str(e))
        if len(labels) != len(args.compare) or len(set(labels)) != len(labels):
            p.error("--labels needs one distinct name per compared directory")
        args.labels = labels
        args.out_dir = args.out_dir or os.path.join(
            os.path.dirname(os.path.abspath(args.compare[0])),
            "compare-" + "-vs-".join(x.replace("/", "_") for x in labels))
        return args
    if args.labels:
        p.error("--labels goes with --compare")
    args.out_dir = args.out_dir or args.results_dir
    return args


def write_analysis_json(args: argparse.Namespace, model: Optional[whatif.ModelArgs]) -> None:
    """How this analysis was made, for --compare (which may read this output directory)."""
    doc = {"results_dir": os.path.abspath(args.results_dir),
           "latency_basis": args.latency_basis, "warmup_seconds": args.warmup_seconds,
           "kpa_model": os.path.abspath(args.kpa_model) if model else None,
           "kpa_args": model.args if model else [],
           "kpa_sweep_args": model.sweep if model else [],
           "kpa_what_if": model.what_if if model else [],
           "kpa_changed": [vars(c) for c in model.changes] if model else []}
    report.write_atomic(os.path.join(args.out_dir, "analysis.json"),
                        json.dumps(doc, indent=1) + "\n")


def note(notes: List[str], text: str) -> None:
    notes.append(text)
    print(f"analyze_plot.py: note: {text}", file=sys.stderr)


def sweep_plots(runs, points, out_dir: str) -> List[Tuple[str, str]]:
    """The plots over the whole sweep: latency vs rate (with CIs when repeated), the
    overhead heatmap, the latency CDFs."""
    stats = [r.stats for r in runs]
    repeated = any(g.repeats > 1 for g in points)
    spins = sorted(set(r.spin for r in runs))
    out: List[Tuple[str, str]] = []
    for spin in spins:
        out.append((f"Latency vs rate, spin {fmt_num(spin)} ms",
                    plots.plot_latency_ci(points, spin, out_dir) if repeated else
                    plots.plot_latency_vs_rps(stats, spin, out_dir)))
    out.append(("Overhead heatmap", plots.plot_overhead_heatmap(stats, out_dir)))
    for spin in spins:
        out.append((f"Latency CDF, spin {fmt_num(spin)} ms",
                    plots.plot_cdf(runs, spin, out_dir)))
    return out


def add_run_plots(run, out_dir: str) -> None:
    """A run's own plots. With an autoscaler in the loop its own series tell the story
    (the pods plot is part of it); with fixed pods, the measured pods next to the
    model's."""
    auto = plots.plot_autoscaler(run, out_dir)
    if auto:
        run.plots.append((f"Autoscaling, {run.stem}", auto))
    pods = None if auto else plots.plot_pods(run, out_dir)
    if pods:
        run.plots.append((f"Pods over time, {run.stem}", pods))
    timeline = plots.plot_timeline(run, out_dir)
    if timeline:
        run.plots.append((f"Timeline, {run.stem}", timeline))
    shares = plots.plot_breakdown(run, out_dir)
    if shares:
        run.plots.append((f"Where latency went, {run.stem}", shares))


def analysis_words(args, runs, model: Optional[whatif.ModelArgs]) -> dict:
    """How the analysis read the runs, for the report's header."""
    rules = sorted(set(r.stats.warmup_rule for r in runs))
    return {
        "latency": ("from the intended send (intended_latency_us: includes schedule lag, no "
                    "coordinated omission)" if args.latency_basis == "intended" else
                    "from the actual send (latency_us)") +
                   "; six-column CSVs: latency_ms",
        "warmup_rule": ", ".join(rules),
        "kpa_model": (" ".join([os.path.basename(args.kpa_model)] + model.args)
                      if model else ""),
        "kpa_what_if": whatif.words(model) if model else "",
    }


def model_args(args, info, notes: List[str]) -> Optional[whatif.ModelArgs]:
    """The KPA model's arguments (None: no usable model): the sweep's, then --kpa-args."""
    if not args.kpa_model:
        return None
    if not kpa.model_usable(args.kpa_model):
        note(notes, f"KPA model {args.kpa_model} not found or not executable: model curves "
                    "skipped")
        return None
    sweep, why = whatif.recorded(info)
    if why:
        note(notes, why)
    m = whatif.layer(sweep, args.kpa_args_list)
    if m.note:
        note(notes, m.note)
    return m


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    if args.compare:
        return compare.main(args)
    opts = AnalysisOptions(latency_basis=args.latency_basis,
                           warmup_seconds=args.warmup_seconds)
    notes: List[str] = []
    try:
        model = model_args(args, read_sweep_info(args.results_dir), notes)
        runs, info = analyze_sweep(args.results_dir, opts, args.kpa_model if model else "",
                                   model.args if model else [], args.out_dir)
    except InputError as e:
        print(f"analyze_plot.py: error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)
    write_analysis_json(args, model)
    for run in runs:
        run.breakdown = breakdown.compute(run.meas, run.start_ms)
    stats = [r.stats for r in runs]
    report.write_summary_csv(stats, os.path.join(args.out_dir, "summary.csv"))
    steps = {}
    for run in runs:
        st = run_steps(run)
        if st:
            name = f"steps-{run.stem}.csv"
            report.write_steps_csv(st, os.path.join(args.out_dir, name))
            steps[run.stem] = (st, name)

    points = grid_points(runs)
    report.write_grid_csv(points, os.path.join(args.out_dir, "grid.csv"))
    global_plots = sweep_plots(runs, points, args.out_dir)
    if not args.no_run_plots:
        for run in runs:
            add_run_plots(run, args.out_dir)
    for run in runs:
        notes.extend(f"{run.stem}: {n}" for n in run.notes)
    path = os.path.join(args.out_dir, "report.html")
    analysis = analysis_words(args, runs, model)
    checks = {r.stem: run_checks(r) for r in runs}
    checks = {k: v for k, v in checks.items() if v}
    if checks:
        report.write_checks_csv(checks, os.path.join(args.out_dir, "quantile_checks.csv"))
    extra = {r.stem: breakdown.html(r.breakdown)
             + traces.run_html(args.results_dir, r.stem, info, args.out_dir)
             + report.checks_table(checks.get(r.stem, [])) for r in runs}
    report.write_report(path, args.results_dir, info, runs, global_plots, notes, analysis,
                        steps, extra, points)
    for run in runs:
        for n in run.notes:
            print(f"analyze_plot.py: note: {run.stem}: {n}", file=sys.stderr)
    print(os.path.abspath(path))
    return 0
