#!/usr/bin/python3
"""Print the PromQL expressions of the Grafana dashboard, one per line.

Grafana variables are substituted so each line is plain PromQL:
$__rate_interval / $__interval / $__range and the dashboard's template
variables ($namespace, $service; override with --var NAME=VALUE).

--local-only keeps what a local Prometheus (worker, driver and their
process_* metrics, no Kubernetes) can answer: expressions whose metrics are
all worker_*, load_driver_* or process_*. A top-level `A or B` fallback (e.g.
cAdvisor `or` process_*) is split and its local branches are kept.

Exit status: 0, or 1 when the dashboard has no expressions or cannot be read.
"""
import argparse
import json
import os
import re
import sys

DEFAULT_DASHBOARD = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "base", "monitoring", "dashboards",
    "knbench.json")
LOCAL_PREFIXES = ("worker_", "load_driver_", "process_")
# PromQL words that look like metric names but are not.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "rate", "irate", "increase", "delta", "idelta",
    "histogram_quantile", "label_replace", "label_join", "timestamp", "vector", "scalar",
    "abs", "ceil", "floor", "round", "clamp_min", "clamp_max", "time", "absent", "le",
    "sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "count_over_time",
    "deriv", "predict_linear", "resets", "changes", "sort", "sort_desc", "inf", "nan",
}


def dashboard_exprs(dashboard):
    """Every target expression, in panel order (rows' nested panels included)."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append(t["expr"])
            walk(p.get("panels", []))

    walk(dashboard.get("panels", []))
    return out


def template_defaults(dashboard):
    values = {}
    for v in dashboard.get("templating", {}).get("list", []):
        cur = (v.get("current") or {}).get("value")
        if isinstance(cur, str) and cur:
            values[v["name"]] = cur
    return values


def substitute(expr, variables):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise KeyError(name)
        return variables[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)


def metric_names(expr):
    """Metric names used in a PromQL expression (label matchers and strings removed)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    stripped = re.sub(r"\{[^}]*\}", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "",
                      stripped)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", stripped):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def split_top_level_or(expr):
    """`A or B or C` at parenthesis depth 0 -> [A, B, C]."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expr):
        c = expr[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == '"':
            i = expr.index('"', i + 1)
        elif depth == 0 and re.match(r"\sor\s", expr[i:i + 4]):
            parts.append(expr[start:i].strip())
            start = i + 4
            i += 3
        i += 1
    parts.append(expr[start:].strip())
    return parts


def is_local(expr):
    names = metric_names(expr)
    return bool(names) and all(n.startswith(LOCAL_PREFIXES) for n in names)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dashboard", default=DEFAULT_DASHBOARD, help="dashboard JSON file")
    ap.add_argument("--local-only", action="store_true",
                    help="only expressions over worker_*/load_driver_*/process_* metrics")
    ap.add_argument("--rate-interval", default="1m",
                    help="value for $__rate_interval and $__interval (default 1m)")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="override a dashboard variable")
    args = ap.parse_args()

    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        print(f"dashboard_exprs.py: error: cannot read {args.dashboard}: {e}", file=sys.stderr)
        return 1
    variables = template_defaults(dashboard)
    variables.update({"__rate_interval": args.rate_interval, "__interval": args.rate_interval,
                      "__range": args.rate_interval})
    for kv in args.var:
        if "=" not in kv:
            print(f"dashboard_exprs.py: error: --var wants NAME=VALUE, got {kv!r}", file=sys.stderr)
            return 2
        k, v = kv.split("=", 1)
        variables[k] = v

    printed = 0
    seen = set()
    for raw in dashboard_exprs(dashboard):
        try:
            expr = substitute(raw, variables)
        except KeyError as e:
            print(f"dashboard_exprs.py: error: unknown variable ${e.args[0]} in: {raw}",
                  file=sys.stderr)
            return 1
        candidates = [expr]
        if args.local_only:
            candidates = [p for p in split_top_level_or(expr) if is_local(p)]
        for c in candidates:
            if c not in seen:
                seen.add(c)
                print(c)
                printed += 1
    if printed == 0:
        print("dashboard_exprs.py: error: no expressions selected", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
