#!/usr/bin/env bash
# Integration test: Prometheus quantiles from the *_latency_seconds histograms
# agree with the CSV's within the bucket error (2^(1/8) - 1 = 9.05 %) on a
# real run. One local run (Poisson arrivals, so latencies spread over many
# buckets); the analysis compares the run's whole-window histogram_quantile
# (collect_prometheus.sh's run_* series) with the nearest-rank quantile of the
# same requests in the CSV (quantile_checks.csv), for the driver's latency
# from the actual and from the intended send, p50, p95 and p99.
# Usage: quantile_agreement_test.sh WORKER_BIN DRIVER_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-quantile-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

WORKER_BIN="$1" DRIVER_BIN="$2" DRIVER_ARGS="--arrivals=poisson --seed=7" \
  run_sweep "${tmp}/sweep.log" 240 --local-pods 1 --rps-start 60 --rps-max 60 --spin-start 3 --spin-max 3 \
  --duration 6s --warmup 1 --outdir "$tmp" --sweep-id sweep
"$PY" - "${tmp}/sweep" <<'PYEOF' || fail "Prometheus and the CSV disagree beyond the bucket error"
import csv, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "quantile_checks.csv"))))
driver = [r for r in rows if r["what"].startswith("driver")]
for r in rows:
    print(f"{r['what'][:40]:40} {r['quantile']}: CSV {float(r['csv_ms']):8.3f} ms  "
          f"Prometheus {float(r['prometheus_ms']):8.3f} ms  ({100 * float(r['rel_diff']):+.2f} %)")
assert len(driver) == 6, f"expected 6 driver checks (2 latencies x p50/p95/p99), got {len(driver)}"
bound = 2 ** (1 / 8) - 1
for r in driver:
    assert abs(float(r["bound"]) - bound) < 1e-9, r  # the fine histograms were queried
    assert float(r["csv_ms"]) >= 0.1, r  # inside the buckets' 100 us .. 62 s range
    assert r["agrees"] == "1" and abs(float(r["rel_diff"])) <= bound, r
# The worker's histogram is there too (not judged: elapsed vs reported spin differ).
assert any(r["what"].startswith("worker") for r in rows), rows
html = open(os.path.join(d, "report.html")).read()
assert "Prometheus next to the CSV" in html and "±9.1 %" in html
print("ok: 6 driver quantiles within the bucket error")
PYEOF
echo "PASS"
