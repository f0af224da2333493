#!/usr/bin/env bash
# Integration test: every dashboard expression that a local Prometheus can
# answer returns data. Brings up the local stack (a worker + Prometheus) as the
# sweep does and does one short driver run (python3 -m knbench_sweep.one_run),
# then, with the stack still up, evaluates each line of
#   deploy/tests/dashboard_exprs.py --local-only --dashboard <dashboard json>
# as an instant query at the end of the run and requires a non-empty, finite
# result.
# Usage: dashboard_exprs_test.sh WORKER_BIN DRIVER_BIN
#        (one_run calls it back as: dashboard_exprs_test.sh --check EXPRS_FILE)
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

# --check EXPRS_FILE: the queries, against PROM_URL, while the stack is up.
check_exprs() {
  local expr body verdict at failures=0 total=0
  # The driver was stopped just now: evaluate at a moment it was still scraped
  # (instant selectors of a stopped target go stale at the next scrape).
  at="$("$PY" -c 'import time; print("%.3f" % (time.time() - 0.3))')"
  while IFS= read -r expr; do
    total=$((total + 1))
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
  done <"$1"
  ((failures == 0)) || fail "${failures} of ${total} dashboard expressions returned no data"
  echo "PASS: ${total} dashboard expressions return data"
}
if [[ "${1:-}" == --check ]]; then
  check_exprs "$2"
  exit 0
fi

need_binaries "${1:-}" "${2:-}"
lister="${ROOT}/deploy/tests/dashboard_exprs.py"
[[ -f "$lister" ]] || fail "${lister} is missing"
dashboard="$(grep -rl --include='*.json' --exclude-dir=node_modules '"panels"' "${ROOT}/deploy" | head -n 1 || true)"
[[ -n "$dashboard" ]] || fail "no Grafana dashboard JSON under ${ROOT}/deploy"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-dash-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$PY" "$lister" --local-only --dashboard "$dashboard" >"${tmp}/exprs"
[[ -s "${tmp}/exprs" ]] || fail "${lister} printed no local expressions for ${dashboard}"

PYTHONPATH="${ROOT}/tools" "$PY" -m knbench_sweep.one_run --out "${tmp}/run" --local-pods 1 \
  --rps-start 20 --spin-start 10 --duration 5s --warmup 1 -- \
  "${BASH_SOURCE[0]}" --check "${tmp}/exprs" || fail "the run or its checks failed (above)"
