"""The comparison (comparison.Comparison) in words, as text and as HTML: pure functions
of the struct. The words are made from the numbers: which side's scale rose first and by
how much, the latency, the cost, the way back, throttling and failures."""

import textwrap
from typing import Callable, List, Optional, Tuple

from . import report
from .comparison import Comparison, Point, point_title
from .loading import fmt_num
from .scaling import Measures

BASIS = {"intended": "from the intended send", "send": "from the actual send"}


def secs(x: float) -> str:
    return f"{x:.1f} s"


def pods(x: float) -> str:
    return f"{fmt_num(x)} pod" + ("" if x == 1 else "s")


def change(b: Optional[float], a: Optional[float]) -> str:
    """b against a in percent: "+85 %" ("" when it cannot be said)."""
    if a is None or b is None or a == 0:
        return ""
    return f"{100 * (b - a) / a:+.0f} %"


def quantiles(m: Measures) -> str:
    return " / ".join("–" if v is None else f"{v:.4g}" for v in (m.p50_ms, m.p95_ms, m.p99_ms))


# --- the words -------------------------------------------------------------------------
def reaction(a: str, A: Measures, b: str, B: Measures) -> str:
    ra, rb = A.first_scale_up_s, B.first_scale_up_s
    if ra is not None and rb is not None:
        if ra == rb:
            return f"{a} and {b} both scaled up {secs(ra)} after the load's start"
        (x, fx), (y, fy) = sorted(((a, ra), (b, rb)), key=lambda s: s[1])
        return (f"{x} reacted first: its scale rose {secs(fx)} after the load's start, "
                f"{y}'s {secs(fy - fx)} later, at {secs(fy)}")
    if ra is None and rb is None:
        return f"neither {a} nor {b} scaled above its minimum"
    (x, fx), y = ((a, ra), b) if rb is None else ((b, rb), a)
    return f"{x} scaled up {secs(fx)} after the load's start; {y} never rose above its minimum"


def final(a: str, A: Measures, b: str, B: Measures) -> str:
    def one(label: str, m: Measures) -> str:
        if m.final_scale_s is None:
            return f"{label}'s did not change under the load"
        return f"{label}'s to {pods(m.final_scale_pods)} at {secs(m.final_scale_s)}"
    return f"the last change of the scale: {one(a, A)}, {one(b, B)}"


def cold(a: str, A: Measures, b: str, B: Measures) -> str:
    def one(label: str, m: Measures) -> str:
        if m.cold_start_s is not None:
            return (f"{label}'s first request waited {m.cold_start_s:.2f} s beyond its spin "
                    "(a cold start from 0 pods)")
        if m.start_pods is not None:
            return f"{label} had {pods(m.start_pods)} ready (no cold start)"
        return f"{label}'s cold start is unknown"
    return f"{one(a, A)}; {one(b, B)}"


def latency(a: str, A: Measures, b: str, B: Measures, basis: str) -> str:
    d = change(B.p95_ms, A.p95_ms)
    return (f"p50 / p95 / p99 {BASIS.get(basis, basis)}: {a} {quantiles(A)} ms, {b} "
            f"{quantiles(B)} ms" + (f" ({b}'s p95 {d} against {a}'s)" if d else ""))


def cost(a: str, A: Measures, b: str, B: Measures) -> str:
    if A.pod_seconds is None or B.pod_seconds is None:
        return "the cost is unknown (no pod series)"
    d = change(B.pod_seconds, A.pod_seconds)
    return (f"cost: {a} {A.pod_seconds:.0f} pod-seconds over its {A.window_s:.0f} s window, "
            f"{b} {B.pod_seconds:.0f} over {B.window_s:.0f} s" + (f" ({d})" if d else "")
            + f"; peak {fmt_num(A.peak_pods)} vs {pods(B.peak_pods)}")


def back(a: str, A: Measures, b: str, B: Measures) -> str:
    def one(label: str, m: Measures) -> str:
        if m.min_pods is None:
            return f"{label} unknown"
        if m.back_to_min_s is None:
            return f"{label} not back at {pods(m.min_pods)} when its window ended"
        return f"{label} back at {pods(m.min_pods)} {secs(m.back_to_min_s)} after it"
    return f"after the load: {one(a, A)}, {one(b, B)}"


def extras(a: str, A: Measures, b: str, B: Measures) -> List[str]:
    out = []
    if A.throttled_share is not None or B.throttled_share is not None:
        out.append("CPU throttled in " + ", ".join(
            f"{'no data' if m.throttled_share is None else f'{100 * m.throttled_share:.0f} %'}"
            f" ({label})" for label, m in ((a, A), (b, B))) + " of the CFS periods")
    if A.failed or B.failed:
        out.append(f"failed: {a} {A.failed} of {A.requests}, {b} {B.failed} of {B.requests}")
    else:
        out.append("no request failed")
    return out


def point_words(p: Point, a: str, b: str, basis: str) -> str:
    A, B = p.measures[a], p.measures[b]
    parts = [reaction(a, A, b, B), final(a, A, b, B), cold(a, A, b, B),
             latency(a, A, b, B, basis), cost(a, A, b, B), back(a, A, b, B)]
    return f"At {point_title(p)}, " + "; ".join(parts + extras(a, A, b, B)) + "."


def tally(c: Comparison, b: str) -> str:
    """Across several grid points: who reacted first, who cost more, whose p95 was lower."""
    a = c.baseline
    both = [p for p in c.points if a in p.measures and b in p.measures]

    def count(test: Callable[[Measures, Measures], bool]) -> int:
        return sum(1 for p in both if test(p.measures[a], p.measures[b]))

    def lt(x, y) -> bool:
        return x is not None and (y is None or x < y)
    return (f"Across {len(both)} grid points, {a} reacted first at "
            f"{count(lambda A, B: lt(A.first_scale_up_s, B.first_scale_up_s))} and {b} at "
            f"{count(lambda A, B: lt(B.first_scale_up_s, A.first_scale_up_s))}; {b} cost more "
            f"pod-seconds at {count(lambda A, B: lt(A.pod_seconds, B.pod_seconds))} and had "
            f"the lower p95 at {count(lambda A, B: lt(B.p95_ms, A.p95_ms))}.")


def words(c: Comparison) -> str:
    """The paragraph at the top: each other sweep against the baseline."""
    out = []
    for b in c.labels[1:]:
        points = [p for p in c.points if c.baseline in p.measures and b in p.measures]
        if len(points) > 1:
            out.append(tally(c, b))
        out += [point_words(p, c.baseline, b, c.latency_basis) for p in points]
        if not points:
            out.append(f"{c.baseline} and {b} have no grid point in common.")
    return " ".join(out)


def flags_lines(c: Comparison) -> List[str]:
    """Each sweep's settings set by its serving arguments: a local run's shortenings."""
    return [f"{s.label}: " + (" ".join(f"{k}={fmt_num(v) if isinstance(v, float) else v}"
                                       for k, v in s.flag_settings.items()) or "none")
            for s in c.sides]


# --- the table of a grid point --------------------------------------------------------
def rows(p: Point, labels: List[str], basis: str) -> List[Tuple[str, List[str]]]:
    """(measure, one cell per sweep), for the text and the HTML tables alike."""
    def cells(f: Callable[[Measures], str]) -> List[str]:
        return [f(p.measures[x]) if x in p.measures else "–" for x in labels]

    def opt(v: Optional[float], fmt: Callable[[float], str], none: str) -> str:
        return none if v is None else fmt(v)
    return [
        (f"p50 / p95 / p99 ms ({BASIS.get(basis, basis)})", cells(quantiles)),
        ("failed", cells(lambda m: f"{m.failed} of {m.requests}")),
        ("cold-start wait", cells(lambda m: opt(m.cold_start_s, lambda v: f"{v:.2f} s", (
            "none" if m.start_pods is None else f"none ({pods(m.start_pods)} ready)")))),
        ("pod-seconds", cells(lambda m: opt(
            m.pod_seconds, lambda v: f"{v:.0f} over {m.window_s:.0f} s", "no data"))),
        ("peak pods", cells(lambda m: opt(m.peak_pods, fmt_num, "no data"))),
        ("first scale-up", cells(lambda m: opt(m.first_scale_up_s, secs, "never"))),
        ("final scale", cells(lambda m: opt(
            m.final_scale_s, lambda v: f"{secs(v)} ({pods(m.final_scale_pods)})", "no change"))),
        ("back to the minimum", cells(lambda m: opt(
            m.back_to_min_s, lambda v: f"{secs(v)} ({pods(m.min_pods)})",
            "not in the window"))),
        ("throttled", cells(lambda m: opt(m.throttled_share, lambda v: f"{100 * v:.0f} %",
                                          "no data"))),
    ]


NOTE = ("Times in seconds since the load's start (the first intended send), to the "
        "first sample of the scale's series that shows it (1 s steps locally, 15 s on a "
        "cluster); final scale = the last change of the scale while the load lasts; back "
        "to the minimum = from the load's end until the ready pods stay at the sweep's "
        "idle count; pod-seconds = ready pods integrated over the run's window; throttled "
        "= mean share of CFS periods the CPU limit throttled. Latencies: successes after "
        "the warm-up; with repeats, each value is the median over them.")


def wrap(s: str) -> str:
    """79 columns, never breaking "100 %" (textwrap breaks at ASCII spaces only)."""
    return textwrap.fill(s.replace(" %", "\u00a0%"), 79).replace("\u00a0", " ")


def text(c: Comparison) -> str:
    """comparison.txt."""
    out = [f"Comparison: {' vs '.join(c.labels)} (baseline {c.baseline})", "",
           wrap(words(c)), "", "Set by serving arguments (not the manifest or "
           "the defaults):"] + [f"  {line}" for line in flags_lines(c)]
    for p in c.points:
        table = [("measure", c.labels)] + rows(p, c.labels, c.latency_basis)
        w0 = max(len(r[0]) for r in table)
        widths = [max(len(r[1][i]) for r in table) for i in range(len(c.labels))]
        out += ["", point_title(p)]
        out += ["  " + name.ljust(w0) + "".join(f"  {v.ljust(w)}" for v, w in
                                               zip(vals, widths)).rstrip()
                for name, vals in table]
    return "\n".join(out + ["", wrap(NOTE)]) + "\n"


def html(c: Comparison, figures: dict) -> str:
    """comparison.html; figures: point name -> its plot's file name."""
    esc = report.esc
    title = " vs ".join(c.labels)
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>"
             f"<title>Comparison {esc(title)}</title><style>{report.CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>", f"<p class='words'>{esc(words(c))}</p>",
             "<p class='note'>Set by serving arguments (not the manifest or the defaults): "
             + "; ".join(esc(x) for x in flags_lines(c)) + "</p>", "<h2>Sweeps</h2><ul>"]
    for s in c.sides:
        link = f" (<a href='{esc(s.report)}'>its report</a>)" if s.report else ""
        cls = s.autoscaler_class or "class not recorded"
        parts.append(f"<li><b>{esc(s.label)}</b>: {esc(cls)}, {s.runs} runs, "
                     f"{esc(s.results_dir)}{link}</li>")
    parts.append("</ul><p class='note'>Settings side by side and latency against the rate: "
                 "<a href='compare.html'>compare.html</a>; these numbers: <a href="
                 "'comparison.json'>comparison.json</a>.</p><h2>Per grid point</h2>"
                 f"<p class='note'>{esc(NOTE)}</p>")
    for p in c.points:
        parts.append(f"<h3 id='point-{esc(p.name)}'>{esc(point_title(p))}</h3>")
        parts.append(point_table(p, c.labels, c.latency_basis))
        if figures.get(p.name):
            parts.append(report.img(figures[p.name], f"Pods and latency, {point_title(p)}"))
    return "\n".join(parts + ["</body></html>\n"])


def point_table(p: Point, labels: List[str], basis: str) -> str:
    return report.table(["measure"] + [report.esc(x) for x in labels],
                        ([f"<th>{report.esc(k)}</th>"] + [report.esc(v) for v in vals]
                         for k, vals in rows(p, labels, basis)), cls="kv")
