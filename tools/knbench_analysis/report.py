"""summary.csv and report.html."""

import html
import math
import os
import urllib.parse
from typing import Dict, List, Tuple

from .loading import Run
from .stats import SUMMARY_COLUMNS, RunStats, stats_frame


def write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_summary_csv(stats: List[RunStats], path: str) -> None:
    write_atomic(path, stats_frame(stats).to_csv(index=False, float_format="%.10g", na_rep=""))


def img(name: str, title: str) -> str:
    src = urllib.parse.quote(name)
    return (f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(title)}"></a>'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")


def cell(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return html.escape(str(v))


def write_report(path: str, results_dir: str, stats: List[RunStats], runs: List[Run],
                 global_plots: List[Tuple[str, str]], notes: List[str],
                 driver_summaries: Dict[str, dict]) -> None:
    table = stats_frame(stats)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in SUMMARY_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{cell(row[c])}</td>" for c in SUMMARY_COLUMNS) + "</tr>"
                   for _, row in table.iterrows())
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Knative autoscaling sweep report"
        "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
        "font-size:85%}td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}"
        "figure{display:inline-block;margin:0.5em}img{max-width:640px}</style></head><body>",
        f"<h1>Sweep report: {html.escape(os.path.abspath(results_dir))}</h1>",
        "<p>Latencies are of successful requests after the warm-up; failures and dropped "
        "requests are counted, not timed. overhead = (median latency - spin) / spin. "
        "mean_pods averages the Prometheus <code>pods</code> series over the measured window. "
        "See docs/analysis.md.</p>",
        "<h2>Summary (<a href='summary.csv'>summary.csv</a>)</h2>",
        f"<table><tr>{head}</tr>{body}</table>",
    ]
    if driver_summaries:
        parts.append("<h3>Driver summaries</h3><table><tr><th>run</th><th>scheduled</th>"
                     "<th>sent</th><th>achieved_rps</th><th>write_error</th></tr>")
        for tag, s in driver_summaries.items():
            parts.append("<tr>" + "".join(f"<td>{cell(x)}</td>" for x in (
                tag, s.get("scheduled", ""), s.get("sent", ""), s.get("achieved_rps", ""),
                s.get("write_error") or "")) + "</tr>")
        parts.append("</table>")
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
                     + "</ul>")
    parts.append("<h2>Across runs</h2>")
    parts.extend(img(name, title) for title, name in global_plots)
    parts.append("<h2>Per run</h2>")
    for run in runs:
        parts.append(f"<h3>{html.escape(run.tag)}</h3>")
        parts.extend(img(name, title) for title, name in run.plots)
    parts.append("</body></html>\n")
    write_atomic(path, "\n".join(parts))
