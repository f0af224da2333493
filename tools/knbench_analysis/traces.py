"""Traces in the report (issue 19): each run's trace files (OTLP/JSON, one export
request a line: the driver's --trace-out, the pods' spans as the sweep's receiver wrote
them), joined by trace id across the files, and the slowest traced requests with their
span tree: each span's service, name and duration, and how much of it no child span
covers. Any service's spans slot in (local serving's activator and queue-proxy once they
trace): the tree is built from parent span ids, not from known names."""

import glob
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from .report import esc, table
from .sweep import SweepInfo

TOP = 5  # slowest traced requests shown per run
CLIENT = 3  # OTLP SpanKind CLIENT: the driver's span of a request
DRIVER = "load_driver"


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root
    service: str
    name: str
    start_ns: int
    end_ns: int
    kind: int = 0
    attrs: Dict[str, object] = field(default_factory=dict)
    pod: str = ""  # its resource's k8s.pod.name

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


@dataclass
class RunTraces:
    files: List[str]  # paths
    spans: List[Span]
    bad_lines: int = 0

    def by_trace(self) -> Dict[str, List[Span]]:
        out: Dict[str, List[Span]] = {}
        for s in self.spans:
            out.setdefault(s.trace_id, []).append(s)
        return out


def _value(v: dict) -> object:
    """An OTLP AnyValue's value (ints come as decimal strings)."""
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    return int(v["intValue"]) if "intValue" in v else None


def _attrs(items: Iterable[dict]) -> Dict[str, object]:
    return {a["key"]: _value(a.get("value") or {}) for a in items or []}


def spans_of_request(doc: dict) -> List[Span]:
    """The spans of one ExportTraceServiceRequest; KeyError/ValueError/TypeError on a
    malformed one."""
    out = []
    for rs in doc["resourceSpans"]:
        resource = _attrs(rs.get("resource", {}).get("attributes"))
        service = str(resource.get("service.name", "?"))
        pod = str(resource.get("k8s.pod.name") or "")
        for ss in rs.get("scopeSpans") or []:
            for sp in ss.get("spans") or []:
                out.append(Span(sp["traceId"], sp["spanId"], sp.get("parentSpanId") or "",
                                service, str(sp.get("name", "")), int(sp["startTimeUnixNano"]),
                                int(sp["endTimeUnixNano"]), int(sp.get("kind") or 0),
                                _attrs(sp.get("attributes")), pod))
    return out


def read(paths: List[str]) -> RunTraces:
    """Every span of the files that exist; lines that are not an export request are
    counted, not fatal."""
    rt = RunTraces([p for p in paths if os.path.isfile(p)], [])
    for path in rt.files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    rt.spans.extend(spans_of_request(json.loads(line)))
                except (KeyError, ValueError, TypeError, AttributeError):
                    rt.bad_lines += 1
    return rt


def run_files(results_dir: str, stem: str, info: SweepInfo) -> List[str]:
    """The run's trace files: as runs.json records them, else by name."""
    rec = info.records.get(stem)
    if rec is not None and rec.traces:
        return [os.path.join(results_dir, n) for n in rec.traces]
    # traces-<stem>.jsonl and traces-<stem>-<role>.jsonl, not a repeat's traces-<stem>-rN*.
    own = re.compile(re.escape(f"traces-{stem}") + r"(-(?!r[0-9])[^/]+)?\.jsonl")
    return sorted(p for p in glob.glob(os.path.join(results_dir, "traces-*.jsonl"))
                  if own.fullmatch(os.path.basename(p)))


def slowest(rt: RunTraces, n: int = TOP) -> List[Span]:
    """The driver's client spans, longest first."""
    roots = [s for s in rt.spans if s.service == DRIVER and s.kind == CLIENT]
    return sorted(roots, key=lambda s: (-(s.end_ns - s.start_ns), s.start_ns))[:n]


def uncovered_ns(span: Span, children: List[Span]) -> int:
    """The part of span's time that no child span covers (children clipped to it)."""
    covered, cursor = 0, span.start_ns
    for c in sorted(children, key=lambda c: c.start_ns):
        lo, hi = max(c.start_ns, cursor), min(c.end_ns, span.end_ns)
        if hi > lo:
            covered += hi - lo
            cursor = hi
    return (span.end_ns - span.start_ns) - covered


def tree(root: Span, trace: List[Span]) -> List[Tuple[int, Span, Optional[int]]]:
    """(depth, span, ns no child covers or None for a leaf) in depth-first order, children
    by start time. A span whose parent is not in the files hangs under the root."""
    ids = {s.span_id for s in trace}
    kids: Dict[str, List[Span]] = {}
    for s in trace:
        if s is root:
            continue
        parent = s.parent_id if s.parent_id in ids else root.span_id
        kids.setdefault(parent, []).append(s)
    out: List[Tuple[int, Span, Optional[int]]] = []
    seen = set()

    def walk(span: Span, depth: int) -> None:
        seen.add(span.span_id)
        children = sorted(kids.get(span.span_id, []), key=lambda c: c.start_ns)
        out.append((depth, span, uncovered_ns(span, children) if children else None))
        for c in children:
            if c.span_id not in seen:
                walk(c, depth + 1)

    walk(root, 0)
    return out


def _link(path: str, out_dir: str) -> str:
    rel = os.path.relpath(path, out_dir)
    return f"<a href='{esc(urllib.parse.quote(rel))}'>{esc(os.path.basename(path))}</a>"


def _request_table(root: Span, trace: List[Span]) -> str:
    rows = []
    for depth, s, gap in tree(root, trace):
        name = "&nbsp;" * 4 * depth + esc(s.name)
        rows.append([esc(s.service), f"<td style='text-align:left'>{name}</td>",
                     f"{(s.start_ns - root.start_ns) / 1e6:.3f}", f"{s.duration_ms:.3f}",
                     "" if gap is None else f"{gap / 1e6:.3f}"])
    return table(["service", "span", "from ms", "ms", "not in a child span ms"], rows,
                 cls="spans")


def html(rt: RunTraces, out_dir: str, n: int = TOP) -> str:
    """The run's trace files and its slowest traced requests; one line when it has none."""
    if not rt.files:
        return "<p class='note'>Traces: none for this run (tracing was off).</p>"
    links = ", ".join(_link(p, out_dir) for p in rt.files)
    traces = rt.by_trace()
    top = slowest(rt, n)
    bad = f"; {rt.bad_lines} line(s) that are not OTLP/JSON skipped" if rt.bad_lines else ""
    head = (f"<p>Traces: {links} ({len(rt.spans)} spans in {len(traces)} traces{bad}).")
    if not top:
        return head + " No request of the driver was traced in this run.</p>"
    # Several drivers (fixed pods) number their requests each from 1; the merged CSV
    # renumbers them, so a request is named by its driver and the driver's own seq.
    drivers = len({s.pod for s in rt.spans if s.service == DRIVER and s.kind == CLIENT}) > 1
    parts = [head + f" The {len(top)} slowest traced requests by the driver's client span; "
             "each span's start from the request's, its duration, and the part of it that "
             "none of its child spans covers"
             + (" (seq: each driver's own, not the merged CSV's)" if drivers else "") + ".</p>"]
    for root in top:
        seq = root.attrs.get("knbench.seq")
        what = (f"{root.pod} " if drivers else "") + (f"seq {seq}, " if seq is not None else "")
        parts.append(f"<p class='note'>{esc(what)}trace {esc(root.trace_id)}: "
                     f"{root.duration_ms:.3f} ms</p>" + _request_table(root, traces[root.trace_id]))
    return "\n".join(parts)


def run_html(results_dir: str, stem: str, info: SweepInfo, out_dir: str) -> str:
    return html(read(run_files(results_dir, stem, info)), out_dir)
