"""--compare: two or more sweeps side by side (local vs cluster, KPA vs HPA, target 10 vs 20).

Each compared directory is a sweep directory, or the --out-dir of an analysis of one: then
its analysis.json names the sweep, and its model-*.csv (the KPA model with that analysis's
--kpa-args) are drawn. The first directory is the baseline of every difference.
"""

import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import comparison, comparison_format, comparison_plots, kpa, plots, report
from .loading import InputError, Run, fmt_num
from .stats import AnalysisOptions, RunStats, add_model_stats
from .sweep import SweepInfo, analyze_sweep

# sweep.conf keys shown in the settings table, in this order; those that differ come first.
SETTINGS = ["mode", "system", "autoscaling", "autoscaling_source", "pod_start_delay",
            "serving_args", "workers", "rps", "spin_ms", "runs",
            "repeat", "order", "run_duration_s", "warmup_s", "rate_window_s", "fail_threshold",
            "worker_flags", "driver_flags", "schedule", "commit", "kit_version", "host",
            "host_cores", "host_cpu"]
METRICS = ("p50_ms", "p95_ms", "p99_ms")


@dataclass
class Sweep:
    label: str
    path: str  # as given on the command line
    results_dir: str
    runs: List[Run] = field(default_factory=list)
    info: SweepInfo = field(default_factory=SweepInfo)
    analysis: Dict[str, object] = field(default_factory=dict)  # analysis.json, if any
    report: Optional[str] = None  # its report.html, if any


def load(path: str, label: str, opts: AnalysisOptions) -> Sweep:
    if not os.path.isdir(path):
        raise InputError(f"{path} is not a directory")
    analysis: Dict[str, object] = {}
    meta = os.path.join(path, "analysis.json")
    if os.path.isfile(meta):
        try:
            with open(meta, encoding="utf-8") as f:
                analysis = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError(f"{meta}: {e}")
    results_dir = str(analysis.get("results_dir") or path)
    if not os.path.isdir(results_dir):
        raise InputError(f"{meta} names {results_dir}, which does not exist")
    runs, info = analyze_sweep(results_dir, opts)
    for run in runs:  # the KPA model of that analysis, when it ran one
        model_csv = os.path.join(path, f"model-{run.stem}.csv")
        if os.path.isfile(model_csv):
            kpa.load_model_output(run, model_csv)
            add_model_stats(run)
    rep = os.path.join(path, "report.html")
    return Sweep(label, path, results_dir, runs, info, analysis,
                 rep if os.path.isfile(rep) else None)


def grid(sweep: Sweep) -> Dict[Tuple[float, float], List[RunStats]]:
    """(rps, spin) -> the statistics of its runs (several with repeats)."""
    out: Dict[Tuple[float, float], List[RunStats]] = {}
    for r in sweep.runs:
        out.setdefault((r.rps, r.spin), []).append(r.stats)
    return out


def median_of(stats: List[RunStats], key: str) -> float:
    vals = [getattr(s, key) for s in stats if not math.isnan(getattr(s, key))]
    return float(np.median(vals)) if vals else math.nan


def failed_pct(stats: List[RunStats]) -> float:
    count = sum(s.count for s in stats)
    return 100.0 * sum(s.failures + s.dropped for s in stats) / count if count else math.nan


def default_labels(dirs: List[str]) -> List[str]:
    """Each directory's name, with as many of its parents as it takes to tell it from the
    others (a/S and b/S for two sweeps called S); ValueError when two are one directory."""
    parts = [os.path.abspath(d).strip(os.sep).split(os.sep) for d in dirs]
    depth = [1] * len(dirs)
    while True:
        labels = ["/".join(p[-k:]) for p, k in zip(parts, depth)]
        clash = [i for i, x in enumerate(labels) if labels.count(x) > 1]
        if not clash:
            return labels
        if any(depth[i] >= len(parts[i]) for i in clash):
            raise ValueError(f"--compare names one directory twice: {dirs[clash[-1]]}")
        for i in clash:
            depth[i] += 1


def setting(sweep: Sweep, key: str) -> str:
    return sweep.info.get(key, "")


def kpa_setting(sweep: Sweep) -> str:
    a = sweep.analysis
    if not a.get("kpa_model"):
        return "not run"
    return " ".join(["kpa_model"] + [str(x) for x in a.get("kpa_args") or []])


def settings_rows(sweeps: List[Sweep]) -> List[Tuple[str, List[str], bool]]:
    rows = [(k, [setting(s, k) for s in sweeps]) for k in SETTINGS]
    rows.append(("KPA model (analysis)", [kpa_setting(s) for s in sweeps]))
    # What each analysis put on top of its sweep's settings (--kpa-args), when any did.
    rows.append(("KPA model what-if (analysis)",
                 [" ".join(str(x) for x in s.analysis.get("kpa_what_if") or [])
                  for s in sweeps]))
    rows.append(("latency basis (analysis)",
                 [str(s.analysis.get("latency_basis") or "intended") for s in sweeps]))
    rows = [(k, v, len(set(v)) > 1) for k, v in rows if any(v)]
    return sorted(rows, key=lambda r: not r[2])  # stable: differing settings first


def delta_pct(value: float, base: float) -> float:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return math.nan
    return 100.0 * (value - base) / base


def difference_rows(sweeps: List[Sweep]) -> Tuple[List[str], List[List[float]]]:
    """compare.csv: per grid point, each sweep's median p50/p95/p99, failed %, pods, and the
    change of each quantile against the baseline (the first sweep), in %."""
    grids = [grid(s) for s in sweeps]
    points = sorted(set().union(*grids), key=lambda k: (k[1], k[0]))
    base = sweeps[0].label
    cols = ["rps", "spin_ms"]
    for s in sweeps:
        cols += [f"{s.label}_{m}" for m in METRICS] + [
            f"{s.label}_failed_pct", f"{s.label}_mean_pods", f"{s.label}_model_pods"]
    for s in sweeps[1:]:
        cols += [f"{s.label}_vs_{base}_{m[:-3]}_pct" for m in METRICS]
    rows = []
    for p in points:
        row = [p[0], p[1]]
        for g in grids:
            st = g.get(p, [])
            row += [median_of(st, m) for m in METRICS] + [
                failed_pct(st), median_of(st, "mean_pods"),
                median_of(st, "model_mean_desired_pods")]
        for g in grids[1:]:
            row += [delta_pct(median_of(g.get(p, []), m), median_of(grids[0].get(p, []), m))
                    for m in METRICS]
        rows.append(row)
    return cols, rows


def plot_latency(sweeps: List[Sweep], spin: float, out_dir: str) -> str:
    fig, ax = plots.plt.subplots(figsize=(7.5, 4.5))
    rates = sorted({p[0] for s in sweeps for p in grid(s) if p[1] == spin})
    span = (max(rates) - min(rates)) if len(rates) > 1 else max(rates[0], 1.0)
    for i, s in enumerate(sweeps):
        g = grid(s)
        pts = sorted(p for p in g if p[1] == spin)
        x = np.array([p[0] for p in pts], dtype=float)
        # Offsets keep the bars of several sweeps apart at the same rate.
        x = x + (i - (len(sweeps) - 1) / 2) * 0.012 * span
        p5, p50, p95, p99 = (np.array([median_of(g[p], k) for p in pts]) for k in
                             ("p5_ms", "p50_ms", "p95_ms", "p99_ms"))
        ok = np.isfinite(p50)
        if not ok.any():
            continue
        ax.errorbar(x[ok], p50[ok], yerr=plots.error_bars(p5[ok], p50[ok], p95[ok]), fmt="o-",
                    capsize=4, color=f"C{i}", label=f"{s.label}: median (bars p5-p95)")
        ax.plot(x[ok], p99[ok], linestyle=":", marker="x", color=f"C{i}", label=f"{s.label}: p99")
    ax.axhline(spin, color="grey", linestyle="--", label=f"spin {fmt_num(spin)} ms")
    ax.set_xlabel("target rate (requests/s)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Latency vs rate, spin {fmt_num(spin)} ms")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plots.save(fig, out_dir, f"compare_latency_{fmt_num(spin)}ms.png")


def plot_pods(sweeps: List[Sweep], stem: str, out_dir: str) -> Optional[str]:
    """Pods over time of one run present in several sweeps: measured and KPA model."""
    fig, ax = plots.plt.subplots(figsize=(7.5, 4))
    drawn = 0
    for i, s in enumerate(sweeps):
        # Equal curves would hide each other: earlier sweeps are drawn wider, underneath.
        width = 1.3 + 1.6 * (len(sweeps) - 1 - i)
        run = next((r for r in s.runs if r.stem == stem), None)
        if run is None:
            continue
        pods = plots.prom_rel(run, "pods")
        if pods is not None:
            ax.step(pods.index, pods.values, where="post", color=f"C{i}", linewidth=width,
                    alpha=0.8, label=f"{s.label}: measured pods")
            drawn += 1
        if run.model is not None:
            ax.step(run.model["time_s"], run.model["desired_pods"], where="post",
                    linestyle="--", color=f"C{i}", linewidth=width, alpha=0.8,
                    label=f"{s.label}: KPA model desired pods")
            drawn += 1
    if not drawn:
        plots.plt.close(fig)
        return None
    ax.set_xlabel("time since run start (s)")
    ax.set_ylabel("pods")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Pods over time, {stem}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plots.save(fig, out_dir, f"compare_pods_{stem}.png")


def write_html(path: str, sweeps: List[Sweep], settings, cols, rows, figures) -> None:
    esc, cell = report.esc, report.cell
    out_dir = os.path.dirname(path)
    base = sweeps[0].label
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>"
             f"<title>Compare {esc(' vs '.join(s.label for s in sweeps))}</title>"
             f"<style>{report.CSS} tr.differs th, tr.differs td{{background:#fff4d6}}</style>"
             "</head><body>",
             f"<h1>{esc(' vs '.join(s.label for s in sweeps))}</h1>", "<h2>Sweeps</h2><ul>"]
    for s in sweeps:
        link = (f" (<a href='{esc(os.path.relpath(s.report, out_dir))}'>its report</a>)"
                if s.report else "")
        parts.append(f"<li><b>{esc(s.label)}</b>: {esc(os.path.abspath(s.results_dir))}, "
                     f"{len(s.runs)} runs{link}</li>")
    parts.append("</ul><h2>Settings</h2><p class='note'>Highlighted: what differs. From each "
                 "sweep's sweep.conf and analysis.json.</p>")
    head = "<tr><th>setting</th>" + "".join(f"<th>{esc(s.label)}</th>" for s in sweeps) + "</tr>"
    body = "".join(f"<tr class='{'differs' if d else ''}'><th>{esc(k)}</th>" +
                   "".join(f"<td>{esc(v) or '<i>not recorded</i>'}</td>" for v in vals) + "</tr>"
                   for k, vals, d in settings)
    parts.append(f"<table class='kv'>{head}{body}</table>")
    # The differences: quantiles per sweep, then the change against the baseline.
    parts.append(f"<h2>Differences</h2><p class='note'>Per grid point: median over repeats of "
                 f"each sweep's p50 / p95 / p99 (ms, successes after warm-up) and the change "
                 f"against <b>{esc(base)}</b>. Every column: <a href='compare.csv'>compare.csv"
                 f"</a>.</p>")
    header = ["rps", "spin ms"] + [f"{esc(s.label)} p50 / p95 / p99" for s in sweeps] + [
        f"{esc(s.label)} vs {esc(base)}" for s in sweeps[1:]] + [
        f"{esc(s.label)} failed %" for s in sweeps] + [
        f"{esc(s.label)} pods / model pods" for s in sweeps]
    idx = {c: i for i, c in enumerate(cols)}
    trs = []
    for r in rows:
        tr = [fmt_num(r[0]), fmt_num(r[1])]
        tr += [" / ".join(cell(r[idx[f"{s.label}_{m}"]]) or "–" for m in METRICS) for s in sweeps]
        for s in sweeps[1:]:
            ds = [r[idx[f"{s.label}_vs_{base}_{m[:-3]}_pct"]] for m in METRICS]
            tr.append(" / ".join("–" if math.isnan(d) else f"{d:+.0f} %" for d in ds))
        tr += [cell(r[idx[f"{s.label}_failed_pct"]], 3) for s in sweeps]
        tr += [f"{cell(r[idx[f'{s.label}_mean_pods']], 3) or '–'} / "
               f"{cell(r[idx[f'{s.label}_model_pods']], 3) or '–'}" for s in sweeps]
        trs.append(tr)
    parts.append(report.table(header, trs))
    parts.append("<h2>Latency vs rate</h2>")
    parts.extend(report.img(n, t) for t, n in figures["latency"])
    if figures["pods"]:
        parts.append("<h2>Pods over time, matching runs</h2>")
        parts.extend(report.img(n, t) for t, n in figures["pods"])
    parts.append("</body></html>\n")
    report.write_atomic(path, "\n".join(parts))


def write_comparison(sweeps: List[Sweep], out_dir: str, basis: str) -> None:
    """comparison.json (the numbers per grid point), its plots, comparison.html and
    comparison.txt (the same numbers in words and tables)."""
    comp = comparison.build(sweeps, out_dir, basis)
    report.write_atomic(os.path.join(out_dir, "comparison.json"),
                        json.dumps(comparison.as_json(comp), indent=1) + "\n")
    figures = {}
    for p in comp.points:
        runs = [(s.label, r) for s in sweeps for r in s.runs
                if r.stem == p.runs.get(s.label)]
        name = comparison_plots.plot_point(runs, p.name, comparison.point_title(p), out_dir)
        if name:
            figures[p.name] = name
    report.write_atomic(os.path.join(out_dir, "comparison.html"),
                        comparison_format.html(comp, figures))
    report.write_atomic(os.path.join(out_dir, "comparison.txt"), comparison_format.text(comp))


def main(args) -> int:
    opts = AnalysisOptions(latency_basis=args.latency_basis, warmup_seconds=args.warmup_seconds)
    try:
        sweeps = [load(p, label, opts) for p, label in zip(args.compare, args.labels)]
    except InputError as e:
        print(f"analyze_plot.py: error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)
    settings = settings_rows(sweeps)
    cols, rows = difference_rows(sweeps)
    lines = [",".join(cols)] + [",".join(report._csv(float(v)) for v in r) for r in rows]
    report.write_atomic(os.path.join(args.out_dir, "compare.csv"), "\n".join(lines) + "\n")
    spins = sorted({r.spin for s in sweeps for r in s.runs})
    figures = {"latency": [(f"Latency vs rate, spin {fmt_num(sp)} ms",
                            plot_latency(sweeps, sp, args.out_dir)) for sp in spins],
               "pods": []}
    common = sorted(set.intersection(*[{r.stem for r in s.runs} for s in sweeps]),
                    key=lambda st: next((r.spin, r.rps) for r in sweeps[0].runs if r.stem == st))
    for stem in common:
        name = plot_pods(sweeps, stem, args.out_dir)
        if name:
            figures["pods"].append((f"Pods over time, {stem}", name))
    path = os.path.join(args.out_dir, "compare.html")
    write_html(path, sweeps, settings, cols, rows, figures)
    write_comparison(sweeps, args.out_dir, args.latency_basis)
    differing = [k for k, _, d in settings if d]
    print(f"analyze_plot.py: compared {len(sweeps)} sweeps; settings that differ: "
          f"{', '.join(differing) or 'none'}; per grid point: "
          f"{os.path.join(os.path.abspath(args.out_dir), 'comparison.html')}", file=sys.stderr)
    print(os.path.abspath(path))
    return 0
