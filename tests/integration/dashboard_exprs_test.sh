#!/usr/bin/env bash
# Integration test: every dashboard expression that a local Prometheus can
# answer returns data. Starts the local backend (worker + Prometheus), does one
# short driver run, then evaluates each line of
#   deploy/tests/dashboard_exprs.py --local-only --dashboard <dashboard json>
# as an instant query at the end of the run and requires a non-empty, finite
# result.
# Usage: dashboard_exprs_test.sh WORKER_BIN DRIVER_BIN
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}"

lister="${ROOT}/deploy/tests/dashboard_exprs.py"
[[ -f "$lister" ]] || fail "${lister} is missing"
dashboard="$(grep -rl --include='*.json' --exclude-dir=node_modules '"panels"' "${ROOT}/deploy" | head -n 1 || true)"
[[ -n "$dashboard" ]] || fail "no Grafana dashboard JSON under ${ROOT}/deploy"
mapfile -t exprs < <("$PY" "$lister" --local-only --dashboard "$dashboard")
((${#exprs[@]} > 0)) || fail "${lister} printed no local expressions for ${dashboard}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-dash-test.XXXXXX")"
WORKER_BIN="$1"
DRIVER_BIN="$2"
LOCAL_WORKERS=1
LOCAL_LOG_DIR="${tmp}/logs"
KNBENCH_LOG_NAME=dashboard_exprs_test
# shellcheck source=scripts/lib/local_mode.sh
source "${ROOT}/scripts/lib/local_mode.sh"
cleanup() {
  backend_teardown
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PROM_URL=""
backend_setup
backend_run 20 10 5 1 "${tmp}/results.csv" "${tmp}/summary.json" || fail "the driver run failed"
# The driver was stopped just now: evaluate at a moment it was still scraped
# (instant selectors of a stopped target go stale at the next scrape).
at="$("$PY" -c 'import time; print("%.3f" % (time.time() - 0.3))')"

failures=0
for expr in "${exprs[@]}"; do
  body="$(curl -fsS --max-time 5 -G "${PROM_URL}/api/v1/query" --data-urlencode "query=${expr}" \
    --data-urlencode "time=${at}")" || {
    echo "FAIL: query error: ${expr}" >&2
    failures=$((failures + 1))
    continue
  }
  verdict="$("$PY" -c '
import json, math, sys
d = json.load(sys.stdin)
r = d["data"]["result"]
vals = [float(x["value"][1]) for x in r] if d["data"]["resultType"] == "vector" else []
finite = [v for v in vals if not math.isnan(v) and not math.isinf(v)]
print("ok %d series, e.g. %g" % (len(r), finite[0]) if finite else "EMPTY %s" % r)' <<<"$body")"
  if [[ "$verdict" == ok* ]]; then
    echo "ok   ${expr} -> ${verdict#ok }"
  else
    echo "FAIL ${expr} -> ${verdict}" >&2
    failures=$((failures + 1))
  fi
done
((failures == 0)) || fail "${failures} of ${#exprs[@]} dashboard expressions returned no data"
echo "PASS: ${#exprs[@]} dashboard expressions return data"
