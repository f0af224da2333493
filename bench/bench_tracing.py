"""What tracing costs: the driver and the worker at one rate with tracing
off, at sample rate 0.01 and at 1.0, each CPU figure beside the off run of
the same round as a ratio (machines differ severalfold; the ratio carries
over), and the spans in the trace files counted against the rate, so that a
row cannot silently measure an untraced run."""
import json
import math
import os
import time

from bench_procs import BenchError, log
from bench_report import metric
from bench_runs import median, note_load, ratio, run_costed

# (key, --trace-sample-rate); None: no tracing flag at all, main's default.
MODES = [("off", None), ("0.01", 0.01), ("1", 1.0)]
CPU = ["driver_cpu_us", "driver_cpu_us_whole", "worker_cpu_us",
       "worker_cpu_us_whole"]
# OTLP span kinds (SpanKind in trace.proto).
SERVER, CLIENT = 2, 3


def read_spans(path):
    """Spans by kind in an OTLP JSON file (one export request a line), and
    the trace ids of each kind."""
    kinds = {}
    if not os.path.exists(path):
        return kinds
    with open(path) as f:
        for line in f:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        kinds.setdefault(span["kind"], set()).add(
                            span["traceId"])
    return kinds


def check_spans(name, rate, sent, driver_file, worker_file):
    """The driver's client spans match `rate` of the `sent` calls (exactly
    at 1; within 6 standard deviations of the binomial count below) and
    the worker continued exactly those traces with a server span each."""
    client = read_spans(driver_file).get(CLIENT, set())
    server = read_spans(worker_file).get(SERVER, set())
    expected = rate * sent
    slack = 6 * math.sqrt(sent * rate * (1 - rate))
    if not client or abs(len(client) - expected) > slack:
        raise BenchError(f"{name}: {len(client)} client spans for {sent} "
                         f"calls at sample rate {rate:g} (expected "
                         f"{expected:.0f} ± {slack:.0f})")
    if server != client:
        raise BenchError(f"{name}: the worker's {len(server)} server spans "
                         f"are not the driver's {len(client)} traces")
    return {"client_spans": len(client), "server_spans": len(server),
            "expected_spans": expected}


def traced_run(ctx, name, rate, p):
    """One run with tracing at `rate` (None: off): CPU of both processes;
    traced, both write spans to files in the scratch directory, counted."""
    worker_args, driver_extra = (), ()
    if rate is not None:
        wfile = os.path.join(ctx.workdir, f"{name}.worker-spans.jsonl")
        dfile = os.path.join(ctx.workdir, f"{name}.driver-spans.jsonl")
        worker_args = [f"--trace-out={wfile}"]
        driver_extra = [f"--trace-sample-rate={rate:g}", f"--trace-out={dfile}"]
    note_load(ctx)
    run = run_costed(ctx, name, p["trace_rps"], p["trace_run_s"],
                     p["trace_window"], worker_args, driver_extra)
    if rate is not None:
        run["spans"] = check_spans(name, rate, run["sent"], dfile, wfile)
    run["cpu"] = {"driver_cpu_us": run["driver"]["cpu_us_per_request"],
                  "driver_cpu_us_whole":
                      run["driver_whole"]["cpu_us_per_request"],
                  "worker_cpu_us": run["worker"]["cpu_us_per_request"],
                  "worker_cpu_us_whole":
                      run["worker_whole"]["cpu_us_per_request"]}
    return run


def mode_row(key, runs, offs):
    """The table row of one mode: medians over the rounds of each CPU
    figure and of its ratio to the off run of the same round."""
    row = {"tracing": key, "runs": len(runs),
           "lag_p99_ms": median([r["lag_p99_ms"] for r in runs]),
           "answered_share": median([r["answered_share"] for r in runs])}
    for k in CPU:
        row[k] = median([r["cpu"][k] for r in runs])
        ratios = [ratio(r["cpu"][k], o["cpu"][k]) for r, o in zip(runs, offs)]
        row[k + "_vs_off"] = median(ratios)
        row[k + "_vs_off_rounds"] = ratios
    for k in ("client_spans", "server_spans", "expected_spans"):
        row[k] = median([r["spans"][k] for r in runs if "spans" in r])
    return row


def measure_tracing(ctx, results):
    """ctx.p["trace_rounds"] rounds of the three modes, in alternating
    order (off first, then last), so that a drift of the shared machine's
    load does not fall on one mode."""
    p = ctx.p
    start = time.monotonic()
    runs = {key: [] for key, _ in MODES}
    for i in range(1, p["trace_rounds"] + 1):
        for key, rate in (MODES if i % 2 else MODES[::-1]):
            run = traced_run(ctx, f"trace-{key}-{i}", rate, p)
            runs[key].append(run)
            log(f"  tracing {key:>4} round {i}: CPU µs/call driver "
                f"{run['cpu']['driver_cpu_us']:.1f} / "
                f"{run['cpu']['driver_cpu_us_whole']:.1f}, worker "
                f"{run['cpu']['worker_cpu_us']:.1f} / "
                f"{run['cpu']['worker_cpu_us_whole']:.1f}"
                + (f", {run['spans']['client_spans']} traces"
                   if "spans" in run else ""))
    rows = [mode_row(key, runs[key], runs["off"]) for key, _ in MODES]
    results["tracing"] = {"rps": p["trace_rps"], "run_s": p["trace_run_s"],
                          "window": p["trace_window"],
                          "rounds": p["trace_rounds"],
                          "wall_s": time.monotonic() - start, "rows": rows}
    results["details"]["tracing_runs"] = runs
    for row in rows[1:]:
        for who in ("driver", "worker"):
            metric(results, f"tracing_{who}_vs_off_whole_{row['tracing']}",
                   f"{who}: CPU per call with --trace-sample-rate="
                   f"{row['tracing']} / tracing off, whole process (median "
                   f"of the rounds' ratios)",
                   row[f"{who}_cpu_us_whole_vs_off"], "x")
