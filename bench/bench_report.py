"""The results of a benchmark as data, Markdown and files: metrics with
their targets, the tables, the machine and commit they ran on."""
import json
import os
import platform
import shutil
import subprocess

from bench_procs import mib


def metric(results, mid, label, value, unit, op=None, target=None):
    passed = None
    if op and value is not None:
        passed = value >= target if op == ">=" else value <= target
    results["metrics"].append({
        "id": mid, "label": label, "value": value, "unit": unit,
        "target": f"{op} {target:g} {unit}".rstrip() if op else None,
        "pass": passed})


def fmt(v, digits=None):
    if v is None:
        return "—"
    if isinstance(v, float):
        if digits is not None:
            return f"{v:.{digits}f}"
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


def spaced(n):
    """1 000 rather than 1,000 or 1000."""
    return f"{n:,}".replace(",", " ")


def share(v):
    return "—" if v is None else f"{100 * v:.2f} %"


def both(row, key):
    """A CPU cell: the windowed figure / the whole-process one."""
    return f"{fmt(row[key], 1)} / {fmt(row[key + '_whole'], 1)}"


def markdown(results):
    m = results["machine"]
    loads = results.get("load")
    load_text = ""
    if loads:
        load_text = (f"; 1-minute load average {loads['start']:.2f} at the "
                     f"start, {loads['max']:.2f} at most before a run, "
                     f"{loads['end']:.2f} at the end")
    lines = [f"Benchmark {results['mode']} run, {results['date']}, "
             f"{m['cpus']} CPUs, commit {m['commit']}{load_text}", ""]
    table = results.get("rate_table")
    if table:
        runs = table[0]["runs"]
        lines += [f"Per rate, spin 0, driver and worker side by side on "
                  f"loopback; each cell the median of {runs} run(s); h2load "
                  f"at the same rate against a fresh worker after each run:",
                  "",
                  "CPU µs/call as window / whole: the window is 2-8 s of "
                  "the 10 s run over the calls due in it; whole is the "
                  "process from start to exit over every call it made or "
                  "answered (what `time` gives).", "",
                  "| rate (RPS) | sent on time | answered | lag p50 / p99 / "
                  "max (ms) | driver µs/call | worker µs/call | driver RSS "
                  "(MiB) | worker RSS (MiB) | sustained runs | h2load µs/call "
                  "| worker µs/call under h2load | h2load answered | driver / "
                  "h2load, whole |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in table:
            lines.append(
                f"| {spaced(r['rps'])} | {share(r['on_time_share'])} | "
                f"{share(r['answered_share'])} | {fmt(r['lag_p50_ms'], 3)} / "
                f"{fmt(r['lag_p99_ms'], 3)} / {fmt(r['lag_max_ms'], 2)} | "
                f"{both(r, 'driver_cpu_us')} | {both(r, 'worker_cpu_us')} "
                f"| {fmt(r['driver_rss_mib'], 1)} | "
                f"{fmt(r['worker_rss_mib'], 1)} | {r['sustained_runs']} of "
                f"{r['runs']} | {both(r, 'h2load_cpu_us')} | "
                f"{both(r, 'h2load_worker_cpu_us')} | "
                f"{share(r['h2load_answered_share'])} | "
                f"{fmt(r['driver_vs_h2load_whole'], 2)} |")
        lines.append("")
    ov = results.get("overload")
    if ov:
        o, a = ov["overload"], ov["after"]
        codes = ", ".join(f"{k} {v}" for k, v in o["failures_by_code"].items())
        lines += [f"Overload: {o['duration_s']} s at {spaced(o['rps'])} RPS: "
                  f"{share(o['answered_share'])} answered, failures: "
                  f"{codes or 'none'}, {o['dropped']} dropped by the driver, "
                  f"lag p99 {fmt(o['lag_p99_ms'], 2)} ms; worker threads "
                  f"{o['worker_threads_idle']} idle, "
                  f"{o['worker_threads_peak']} at the peak, "
                  f"{o['worker_threads_after']} after; worker RSS peak "
                  f"{o['worker_rss_peak_mib']:.1f} MiB. Then {spaced(a['rps'])} "
                  f"RPS: {share(a['answered_share'])} answered, lag p99 "
                  f"{fmt(a['lag_p99_ms'], 3)} ms: "
                  f"{'clean' if a['sustained'] else 'NOT clean'}.", ""]
    lines += tracing_lines(results.get("tracing"))
    lines += ["| metric | value | target | pass/miss |", "|---|---|---|---|"]
    for x in results["metrics"]:
        verdict = {True: "pass", False: "**miss**", None: "—"}[x["pass"]]
        value = f"{fmt(x['value'])} {x['unit']}".rstrip()
        lines.append(f"| {x['label']} | {value} | {x['target'] or '—'} | "
                     f"{verdict} |")
    if results["errors"]:
        lines += ["", "Errors:"] + [f"- {e}" for e in results["errors"]]
    return "\n".join(lines) + "\n"


def tracing_lines(tr):
    """The tracing table: CPU per call in each mode and its ratio to off."""
    if not tr:
        return []
    w = tr["window"]
    lines = [f"Tracing at {spaced(tr['rps'])} RPS, spin 0, runs of "
             f"{tr['run_s']} s (window {w[0]:g}-{w[1]:g} s), {tr['rounds']} "
             f"round(s) of off / 0.01 / 1.0 in alternating order "
             f"({tr['wall_s']:.0f} s in all); traced, the driver "
             f"(`--trace-sample-rate`) and the worker write their spans "
             f"with `--trace-out`. CPU µs/call window / whole, and × off: "
             f"the median of each round's ratio to its off run (the "
             f"rounds' range):", "",
             "| tracing | driver µs/call | driver × off | worker µs/call | "
             "worker × off | traces (client / server spans; expected) | "
             "lag p99 (ms) |", "|---|---|---|---|---|---|---|"]
    def vs_off(r, key):
        """The median ratio, and the rounds' range where there are several."""
        rounds = [x for x in r[key + "_vs_off_rounds"] if x is not None]
        spread = (f" ({min(rounds):.2f}–{max(rounds):.2f})"
                  if len(rounds) > 1 and r["tracing"] != "off" else "")
        return f"{fmt(r[key + '_vs_off'], 2)}{spread}"

    for r in tr["rows"]:
        spans = "—"
        if r["client_spans"] is not None:
            spans = (f"{r['client_spans']:.0f} / {r['server_spans']:.0f}; "
                     f"{r['expected_spans']:.0f}")
        lines.append(
            f"| {r['tracing']} | {both(r, 'driver_cpu_us')} | "
            f"{vs_off(r, 'driver_cpu_us')} / "
            f"{vs_off(r, 'driver_cpu_us_whole')} | "
            f"{both(r, 'worker_cpu_us')} | {vs_off(r, 'worker_cpu_us')} / "
            f"{vs_off(r, 'worker_cpu_us_whole')} | {spans} | "
            f"{fmt(r['lag_p99_ms'], 3)} |")
    return lines + [""]


def soak_markdown(results):
    lines = [f"Soak run, {results['date']}, {results['duration_s']:.0f} s at "
             f"{results['rps']} RPS spin {results['spin_ms']} ms, samples "
             f"every {results['interval_s']} s", "",
             "| process | metric | first | last | max | growth |",
             "|---|---|---|---|---|---|"]
    for who in ("worker", "driver"):
        g = results["growth"][who]
        lines.append(f"| {who} | RSS MiB | {mib(g['rss_first']):.2f} | "
                     f"{mib(g['rss_last']):.2f} | {mib(g['rss_max']):.2f} | "
                     f"{mib(g['rss_growth']):+.2f} |")
        lines.append(f"| {who} | open fds | {g['fds_first']} | {g['fds_last']}"
                     f" | {g['fds_max']} | {g['fds_growth']:+d} |")
    s = results["driver_summary"]
    lines += ["", f"Driver: scheduled {s['scheduled']}, success {s['success']}"
              f", failure {s['failure']}, dropped {s['dropped']}, latency p99 "
              f"{s['latency_ms']['p99']} ms, lag p99 {s['lag_ms']['p99']} ms"]
    return "\n".join(lines) + "\n"


def write_outputs(out_dir, stem, results, md):
    os.makedirs(out_dir, exist_ok=True)
    for ext, text in (("json", json.dumps(results, indent=2) + "\n"),
                      ("md", md)):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)


def git_commit():
    try:
        return subprocess.run(
            ["git", "-C", os.path.dirname(os.path.abspath(__file__)),
             "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    h2 = shutil.which("h2load")
    version = None
    if h2:
        version = subprocess.run([h2, "--version"], capture_output=True,
                                 text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "kernel": platform.release(),
            "loadavg_at_start": os.getloadavg(),
            "commit": git_commit(), "h2load": version}
