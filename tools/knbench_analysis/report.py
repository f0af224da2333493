"""summary.csv, steps-<run>.csv and report.html."""

import html
import math
import os
import urllib.parse
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .autoscaling import episode_words
from .loading import Run, fmt_num
from .promcheck import QuantileCheck
from .repeats import QUANTILES, GridPoint
from . import resources
from .stats import RunStats, stats_frame
from .steps import Step
from .sweep import SweepInfo

DOCS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "docs")

CSS = """
body{font-family:sans-serif;margin:1em auto;max-width:1380px;padding:0 10px}
table{border-collapse:collapse;font-size:88%;margin:0.4em 0}
td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}
th{background:#f0f0f0}
table.kv td,table.kv th{text-align:left}
table.kv th{width:11em}
td.flag{color:#a00;text-align:left}
td.ok{color:#070;text-align:left}
.flags{color:#a00}
figure{display:inline-block;margin:0.4em;vertical-align:top}
img{max-width:660px;height:auto}
h3{margin-top:1.6em;border-top:1px solid #ccc;padding-top:0.5em}
.note{color:#555;font-size:90%}
p.words{font-size:105%;line-height:1.45;max-width:1100px}
"""


def write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_summary_csv(stats: List[RunStats], path: str) -> None:
    write_atomic(path, stats_frame(stats).to_csv(index=False, float_format="%.10g", na_rep=""))


def write_steps_csv(steps: List[Step], path: str) -> None:
    cols = ["phase", "start_s", "duration_s", "target_rps", "scheduled", "achieved_rps", "failed",
            "p50_ms", "p95_ms", "p99_ms", "warmup"]
    lines = [",".join(cols)]
    for s in steps:
        lines.append(",".join(_csv(getattr(s, c)) for c in cols))
    write_atomic(path, "\n".join(lines) + "\n")


def _csv(v) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.10g}"
    return str(v)


def esc(v) -> str:
    return html.escape(str(v))


def cell(v, digits: int = 4) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{digits}g}"
    return esc(v)


def img(name: str, title: str) -> str:
    src = urllib.parse.quote(name)
    return (f'<figure><a href="{src}"><img src="{src}" alt="{esc(title)}"></a>'
            f"<figcaption>{esc(title)}</figcaption></figure>")


def table(header: Optional[Sequence[str]], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """An HTML table from already-escaped cells (a cell may be a whole <td>/<th>)."""
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(rows_cell(c) for c in r) + "</tr>" for r in rows)
    return f"<table{f' class={cls!r}' if cls else ''}>{head}{body}</table>"


def rows_cell(c: str) -> str:
    return c if c.startswith(("<td", "<th")) else f"<td>{c}</td>"


def status_cell(flags: List[str]) -> str:
    if not flags:
        return "<td class='ok'>ok</td>"
    return f"<td class='flag'>{esc('; '.join(flags))}</td>"


def docs_link(out_dir: str, page: str, text: str) -> str:
    target = os.path.join(DOCS_DIR, page)
    href = os.path.relpath(target, os.path.abspath(out_dir))
    return f"<a href='{esc(urllib.parse.quote(href))}'>{esc(text)}</a>"


def _span(values: List[float], unit: str, digits: int = 0) -> str:
    """"2 s" or "1 to 3 s" over the finite values."""
    vals = [v for v in values if not math.isnan(v)]
    lo, hi = f"{min(vals):.{digits}f}", f"{max(vals):.{digits}f}"
    return f"{lo} {unit}" if lo == hi else f"{lo} to {hi} {unit}"


# sweep.conf's autoscaling keys (local serving), in words, per autoscaler class.
SETTING_WORDS = {
    "kpa": (("metric", "metric {}"),
            ("target_per_pod", "target {} per pod (target x utilization)"),
            ("container_concurrency", "containerConcurrency {}"),
            ("window", "stable window {}"), ("panic_window_percentage", "panic window {} % of it"),
            ("target_burst_capacity", "target burst capacity {}"),
            ("min_scale", "min-scale {}"), ("max_scale", "max-scale {}"),
            ("initial_scale", "initial scale {}"),
            ("scale_to_zero_grace_period", "scale-to-zero grace period {}")),
    "hpa": (("metric", "metric {}"),
            ("target", "target {} (percent of the CPU request, or MiB of memory, per pod)"),
            ("cpu_request", "CPU request {} millicores"),
            ("min_scale", "min-scale {} (never below 1 pod)"), ("max_scale", "max-scale {}"),
            ("window", "stabilization window {} both ways"),
            ("horizontal_pod_autoscaler_sync_period", "a decision every {}"),
            ("metric_resolution", "a CPU sample every {}"),
            ("horizontal_pod_autoscaler_tolerance", "tolerance {}"),
            ("horizontal_pod_autoscaler_downscale_stabilization", "downscale stabilization {}"),
            ("horizontal_pod_autoscaler_cpu_initialization_period",
             "CPU initialization period {}"),
            ("horizontal_pod_autoscaler_initial_readiness_delay",
             "initial readiness delay {}")),
}


def autoscaling_words(text: str) -> str:
    """"KPA metric=concurrency target_per_pod=7 ..." (sweep.conf's autoscaling line, as older
    sweeps recorded it) as words; other text as it is."""
    kv = dict(t.split("=", 1) for t in text.split() if "=" in t)
    cls = text.split(" ", 1)[0].lower()
    if cls not in SETTING_WORDS or not kv:
        return text
    return settings_words(cls, kv)


def config_words(cfg: Dict[str, object]) -> str:
    """local serving's resolved settings (local_serving --check-config --format=json, as
    runs.json records it) as words."""
    values = dict(cfg.get("settings") or {})
    values.update(cfg.get("derived") or {})
    return settings_words(str(cfg.get("class") or "kpa"),
                          {k: _setting_text(v) for k, v in values.items() if v is not None})


def _setting_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return fmt_num(v) if isinstance(v, float) else str(v)


def settings_words(autoscaler: str, kv: Dict[str, str]) -> str:
    words = SETTING_WORDS.get(autoscaler, SETTING_WORDS["kpa"])
    return (f"the {autoscaler.upper()}, " + ", ".join(f.format(kv[k]) for k, f in words if k in kv))


def in_words(info: SweepInfo, runs: List[Run]) -> str:
    """The report's opening paragraph: what ran, in words (escaped HTML)."""
    c = info.get
    if not info.conf:
        return ("What ran is not recorded: this directory has no sweep.conf (made by hand or "
                "by an older kit).")
    system = c("system_under_test")
    if not system:  # sweeps made before local serving
        system = {"local": "local processes on this machine",
                  "cluster": "a Knative cluster"}.get(c("mode"), c("mode", "?"))
    out = [f"<b>What ran:</b> {esc(system)}."]
    auto, src = c("autoscaling"), c("autoscaling_source")
    if auto and not auto.startswith("none"):
        words = config_words(info.serving_config) if info.serving_config else \
            autoscaling_words(auto)
        out.append(f"Autoscaling: {esc(words)}"
                   + (f" (from {esc(src)})" if src else "") + ".")
    pods = resources.sentence(info.serving_config)
    if pods:
        out.append(esc(pods))
    delay = c("pod_start_delay")
    if delay:
        out.append(f"Pod start delay {esc(delay)}: a new pod was pending that long (the "
                   "stand-in for scheduling, image pull and container start on a cluster), "
                   "then its worker process started and had to pass its gRPC health check.")
    grid = (f"{esc(c('runs', '?'))} runs: rps {esc(c('rps'))} &times; spin "
            f"{esc(c('spin_ms'))} ms")
    if c("repeat", "1") != "1":
        grid += f", each point {esc(c('repeat'))} times"
    out.append(f"{grid}, each at a constant rate for {esc(c('run_duration_s', '?'))} s "
               f"(the first {esc(c('warmup_s', '?'))} s warm-up).")
    eps = [r.episode for r in runs if r.episode is not None]
    if eps:
        from_zero = [e for e in eps if e.start_pods == 0]
        facts = [f"{len(from_zero)} of {len(eps)} runs started at 0 pods",
                 "ready pods peaked at " + _span([e.peak_ready for e in eps], "pods"),
                 f"{sum(1 for e in eps if e.panic_s > 0)} of {len(eps)} entered panic mode"]
        cold = [e.first_latency_ms / 1000 for e in from_zero]
        if any(not math.isnan(v) for v in cold):
            facts.append("the first request waited " + _span(cold, "s", 1) +
                         " (the cold start)")
        back = [e.back_to_start_s for e in eps if not math.isnan(e.back_to_start_s)]
        if back:
            to = ("0 pods" if all(e.start_pods == 0 for e in eps) else
                  "their starting pod count")
            facts.append(f"{len(back)} of {len(eps)} went back to {to} "
                         + _span(back, "s") + " after their last request was sent")
        out.append("Across the runs (Knative's own series, from Prometheus): "
                   + "; ".join(facts) + ".")
    if c("replay_check"):
        out.append(f"Live vs offline decisions: {esc(c('replay_check'))}.")
    elif c("mode") == "local" and c("autoscaling", "").startswith("none"):
        out.append("No autoscaler was in the loop: the pods never changed; the KPA model's "
                   "curves show what Knative would have done with this load.")
    return " ".join(out)


def what_ran(info: SweepInfo, runs: List[Run], analysis: Dict[str, str]) -> List[Tuple[str, str]]:
    """(label, escaped HTML) rows of the report's first table."""
    c = info.get
    rows: List[Tuple[str, str]] = []
    if not info.conf:
        rows.append(("Sweep", "not recorded: no sweep.conf (made by hand or by an older kit)"))
    else:
        rows.append(("Mode", esc(c("mode", "?")) + (f": {esc(c('system'))}"
                                                     if c("system") else "")))
        auto = c("autoscaling", "not recorded")
        src = c("autoscaling_source")
        rows.append(("Autoscaling", esc(auto) + (f" <span class='note'>(from {esc(src)})</span>"
                                                  if src else "")))
        if c("pod_start_delay"):
            rows.append(("Pod start delay", esc(c("pod_start_delay"))))
        res = resources.pod_resources(info.serving_config)
        if res is not None:
            rows.append(("Pod resources", esc(resources.resources_words(res)) +
                         f" <span class='note'>({esc(resources.enforcement_words(res))})"
                         "</span>"))
    if analysis.get("kpa_model"):
        rows.append(("KPA model", esc(analysis["kpa_model"]) +
                     " <span class='note'>(offline prediction drawn beside the measured pods)"
                     "</span>"))
    if analysis.get("kpa_what_if"):
        rows.append(("KPA model what-if", esc(analysis["kpa_what_if"])))
    if info.conf:
        grid = f"rps {esc(c('rps'))} &times; spin {esc(c('spin_ms'))} ms"
        rep = c("repeat", "1")
        if rep != "1" and info.planned_runs and rep.isdigit():
            grid += (f" = {info.planned_runs // int(rep)} points, each run {esc(rep)} times: "
                     f"{info.planned_runs} runs")
        else:
            grid += f" = {esc(c('runs'))} runs"
        if c("order"):
            grid += f", {esc(c('order'))} order" + (f" (seed {esc(c('seed'))})"
                                                     if c("order") == "shuffled" else "")
        rows.append(("Grid", grid))
        rows.append(("Schedule", esc(c("schedule", f"constant rate for {c('run_duration_s')} s "
                                                    "per run"))))
        rows.append(("Warm-up", esc(c("warmup_rule", f"first {c('warmup_s')} s of each run")) +
                     f"; analysis: {esc(analysis.get('warmup_rule', ''))}"))
        if c("rate_window_s"):
            rows.append(("Isolation", f"each run waits for the idle state; rate() windows of "
                                      f"{esc(c('rate_window_s'))} s start inside the run"))
        rows.append(("Worker flags", f"<code>{esc(c('worker_flags', 'not recorded'))}</code>"))
        rows.append(("Driver flags", f"<code>{esc(c('driver_flags', 'not recorded'))}</code>"))
    rows.append(("Latency", esc(analysis.get("latency", ""))))
    rows.append(("Runs", runs_line(info, runs)))
    if info.conf:
        rows.append(("Commit", f"<code>{esc(c('commit', 'unknown'))}</code>, kit "
                               f"{esc(c('kit_version', '?'))}"))
        rows.append(("Date", f"{esc(c('started_utc', '?'))} to "
                             f"{esc(c('finished_utc', 'not finished'))} (UTC)"))
        rows.append(("Host", f"{esc(c('host', '?'))}: {esc(c('host_cores', '?'))} cores, "
                             f"{esc(c('host_cpu', 'CPU not recorded'))}"))
    return rows


def runs_line(info: SweepInfo, runs: List[Run]) -> str:
    planned = info.planned_runs
    text = f"{len(runs)} of {planned} runs" if planned else f"{len(runs)} runs"
    flagged = sum(1 for r in runs if r.flags)
    parts = [esc(text)]
    if info.conf and not info.finished:
        why = info.get("partial_because")
        parts.append("<span class='flags'>the sweep did not finish ("
                     + (esc(why) if why else "interrupted or failed") + "): runs are missing"
                     "</span>")
    elif planned and len(runs) < planned:
        why = info.get("stopped_because")
        parts.append(f"<span class='flags'>stopped early{': ' + esc(why) if why else ''}</span>")
    if flagged:
        parts.append(f"<span class='flags'>{flagged} run(s) flagged below</span>")
    return "; ".join(parts)


def results_table(runs: List[Run], with_model: bool) -> str:
    header = ["run", "rps", "spin ms", "measured", "failed", "p50 ms", "p95 ms", "p99 ms",
              "overhead", "pods"] + (["model pods"] if with_model else []) + ["status"]
    rows = []
    for r in runs:
        s = r.stats
        row = [f"<a href='#run-{esc(r.stem)}'>{esc(r.stem)}</a>", fmt_num(s.rps),
               fmt_num(s.spin_ms), str(s.count), str(s.failures + s.dropped), cell(s.p50_ms),
               cell(s.p95_ms), cell(s.p99_ms), cell(s.overhead, 3), cell(s.mean_pods, 3)]
        if with_model:
            row.append(cell(s.model_mean_desired_pods, 3))
        row.append(status_cell(r.flags))
        rows.append(row)
    return table(header, rows)


def write_grid_csv(points: List[GridPoint], path: str) -> None:
    cols = ["rps", "spin_ms", "repeats"]
    for q, _ in QUANTILES:
        cols += [f"{q}_ms", f"{q}_ci_low_ms", f"{q}_ci_high_ms"]
    cols += ["failed_pct", "mean_pods", "flagged_repeats", "runs"]
    lines = [",".join(cols)]
    for g in points:
        vals = [_csv(g.rps), _csv(g.spin_ms), str(g.repeats)]
        for q, _ in QUANTILES:
            vals += [_csv(g.median[q]), _csv(g.ci[q][0]), _csv(g.ci[q][1])]
        vals += [_csv(g.failed_pct), _csv(g.mean_pods), str(g.flagged), " ".join(g.stems)]
        lines.append(",".join(vals))
    write_atomic(path, "\n".join(lines) + "\n")


def ci_cell(g: GridPoint, q: str) -> str:
    lo, hi = g.ci[q]
    if math.isnan(g.median[q]):
        return ""
    return (f"{cell(g.median[q])} <span class='note'>[{cell(lo)}, {cell(hi)}]</span>")


def grid_table(points: List[GridPoint]) -> str:
    header = ["rps", "spin ms", "repeats", "p50 ms [95 % CI]", "p95 ms [95 % CI]",
              "p99 ms [95 % CI]", "failed %", "pods", "status"]
    rows = []
    for g in points:
        links = " ".join(f"<a href='#run-{esc(s)}'>r{i + 1}</a>" for i, s in enumerate(g.stems))
        status = ("<td class='ok'>ok</td>" if not g.flagged else
                  f"<td class='flag'>{g.flagged} of {g.repeats} flagged</td>")
        rows.append([fmt_num(g.rps), fmt_num(g.spin_ms), f"{g.repeats} ({links})",
                     ci_cell(g, "p50"), ci_cell(g, "p95"), ci_cell(g, "p99"),
                     cell(g.failed_pct, 3), cell(g.mean_pods, 3), status])
    return table(header, rows)


def run_details(run: Run) -> str:
    s, d = run.stats, run.summary
    rows = [("measured rows", f"{s.count} ({s.successes} ok, {s.failures} failed, {s.dropped} "
                              f"dropped); {s.warmup_rows} warm-up rows, {s.malformed} malformed"),
            ("latency", f"{esc(s.latency_source)}: mean {cell(s.mean_ms)} ms, p5 {cell(s.p5_ms)}"
                        f" ms; warm-up rule: {esc(s.warmup_rule)}")]
    if d:
        lag = d.get("lag_ms") or {}
        errors = d.get("errors") or {}
        rows.append(("driver summary",
                     f"scheduled {cell(d.get('scheduled', ''))}, sent {cell(d.get('sent', ''))},"
                     f" achieved {cell(d.get('achieved_rps', ''))} rps over "
                     f"{cell(d.get('duration_s', ''))} s; schedule lag p99 "
                     f"{cell(lag.get('p99', ''))} ms; errors: "
                     + (esc(", ".join(f"{k} {v}" for k, v in errors.items())) or "none")))
    if run.episode is not None:
        rows.append(("autoscaling", esc(episode_words(run.episode))))
    return table(None, ([f"<th>{esc(k)}</th>", v] for k, v in rows), cls="kv")


def write_checks_csv(checks: Dict[str, List[QuantileCheck]], path: str) -> None:
    lines = ["run,what,quantile,csv_ms,prometheus_ms,rel_diff,bound,agrees"]
    for stem, rows in checks.items():
        for c in rows:
            agrees = {True: "1", False: "0", None: ""}[c.agrees]
            lines.append(",".join([stem, '"' + c.what.replace('"', "'") + '"', c.quantile,
                                   _csv(c.csv_ms), _csv(c.prom_ms), _csv(c.rel_diff),
                                   _csv(c.bound), agrees]))
    write_atomic(path, "\n".join(lines) + "\n")


def checks_table(checks: List[QuantileCheck]) -> str:
    """Prometheus's whole-run quantiles next to the CSV's, with the bucket error."""
    if not checks:
        return ""
    rows = []
    for c in checks:
        verdict = {True: "<td class='ok'>within</td>", False: "<td class='flag'>outside</td>",
                   None: "<td>n/a</td>" if c.same_requests else
                   "<td>not the same measurement</td>"}[c.agrees]
        rows.append([esc(c.what), c.quantile, cell(c.csv_ms), cell(c.prom_ms),
                     "" if math.isnan(c.rel_diff) else f"{100 * c.rel_diff:+.1f} %",
                     f"±{100 * c.bound:.1f} %" if c.bound < 1 else "±100 % (coarse ms buckets)",
                     verdict])
    return ("<p>Prometheus next to the CSV, whole run (warm-up included): "
            "<code>histogram_quantile</code> over the run's bucket counts, against the "
            "nearest-rank quantile of the same requests in the CSV. A Prometheus quantile can be "
            "off by one bucket's width: ±9.05 % for the <code>*_latency_seconds</code> "
            "histograms between 100 µs and 62 s.</p>"
            + table(["latency", "q", "CSV ms", "Prometheus ms", "difference", "bucket error",
                     ""], rows))


def steps_table(steps: List[Step], csv_name: str) -> str:
    header = ["phase", "from s", "for s", "target rps", "scheduled", "achieved rps", "failed",
              "p50 ms", "p95 ms", "p99 ms", ""]
    rows = [[str(st.phase), cell(st.start_s, 4), cell(st.duration_s, 4), cell(st.target_rps),
             str(st.scheduled), cell(st.achieved_rps), str(st.failed), cell(st.p50_ms),
             cell(st.p95_ms), cell(st.p99_ms), "warm-up" if st.warmup else ""] for st in steps]
    return (f"<p>Per step (<a href='{esc(urllib.parse.quote(csv_name))}'>{esc(csv_name)}</a>): "
            "each level of the schedule; achieved = successes per second by intended send."
            "</p>" + table(header, rows))


def write_report(path: str, results_dir: str, info: SweepInfo, runs: List[Run],
                 global_plots: List[Tuple[str, str]], notes: List[str],
                 analysis: Dict[str, str], steps: Dict[str, Tuple[List[Step], str]],
                 extra_run_html: Optional[Dict[str, str]] = None,
                 points: Optional[List[GridPoint]] = None) -> None:
    out_dir = os.path.dirname(path)
    name = os.path.basename(os.path.abspath(results_dir))
    with_model = any(not math.isnan(r.stats.model_mean_desired_pods) for r in runs)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Sweep {esc(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Sweep {esc(name)}</h1>",
        f"<p class='note'>{esc(os.path.abspath(results_dir))}</p>",
        f"<p class='words'>{in_words(info, runs)}</p>",
        "<h2>What ran</h2>",
        table(None, ([f"<th>{esc(k)}</th>", v] for k, v in what_ran(info, runs, analysis)),
              cls="kv"),
        "<h2>Results</h2>",
    ]
    repeated = points is not None and any(g.repeats > 1 for g in points)
    if repeated:
        parts += [
            "<p class='note'>Per grid point: the median over its repeats of each run's quantile "
            "(successful requests after the warm-up), and a 95 % confidence interval from a "
            "two-level bootstrap (runs, then requests within each run; 2000 resamples; "
            "conservative: see docs/analysis.md). failed % over all repeats; pods = median of "
            "the runs' mean pods. Every grid point: <a href='grid.csv'>grid.csv</a>; every run "
            "(below): <a href='summary.csv'>summary.csv</a>.</p>",
            grid_table(points), "<h3>Runs</h3>"]
    parts += [
        "<p class='note'>Latencies: successful requests after the warm-up. failed = failures + "
        "dropped. overhead = (p50 - spin) / spin. pods = mean of the Prometheus "
        "<code>pods</code> series over the measured window. Every column, for every run: "
        "<a href='summary.csv'>summary.csv</a>.</p>",
        results_table(runs, with_model),
    ]
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes)
                     + "</ul>")
    parts.append("<h2>Across runs</h2>")
    parts.extend(img(n, t) for t, n in global_plots)
    parts.append("<h2>Per run</h2>")
    for run in runs:
        parts.append(f"<h3 id='run-{esc(run.stem)}'>{esc(run.stem)}</h3>")
        if run.flags:
            parts.append(f"<p class='flags'>Flagged: {esc('; '.join(run.flags))}</p>")
        parts.append(run_details(run))
        if extra_run_html and run.stem in extra_run_html:
            parts.append(extra_run_html[run.stem])
        if run.stem in steps:
            parts.append(steps_table(*steps[run.stem]))
        parts.extend(img(n, t) for t, n in run.plots)
    parts.append("<h2>Docs</h2><p>" + ", ".join([
        docs_link(out_dir, "analysis.md", "docs/analysis.md (this report, its numbers and "
                                          "plots)"),
        docs_link(out_dir, "experiments.md", "docs/experiments.md (the sweep, isolation, "
                                             "options)"),
        docs_link(out_dir, "kpa_model.md", "docs/kpa_model.md (the KPA model)")]) + "</p>")
    parts.append("</body></html>\n")
    write_atomic(path, "\n".join(parts))
