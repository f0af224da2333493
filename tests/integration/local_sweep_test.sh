#!/usr/bin/env bash
# Integration test: a 2x2 local sweep with short runs against the real
# worker, load_driver and Prometheus — by default behind local serving, with
# --local-pods N with fixed workers; checks every run's CSV, summary and
# Prometheus series (local serving: Knative's autoscaler series, the pods
# going 0 -> N -> 0 in every run), the plots and report.html (local serving:
# its header says so in words), sweep.conf, and that teardown left nothing
# running. Every request is traced (--trace-sample-rate 1): check_traces.py
# checks each run's driver and pod spans and the report's trace section.
# Usage: local_sweep_test.sh WORKER_BIN DRIVER_BIN LOCAL_SERVING_BIN KPA_MODEL_BIN
#          [--local-pods N]
#          [--grid RPS_START RPS_STEP RPS_MAX SPIN_START SPIN_STEP SPIN_MAX]
set -euo pipefail
# shellcheck source=tests/integration/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
need_binaries "${1:-}" "${2:-}" "${3:-}" "${4:-}"
shift 4
pods=""
grid=(10 10 20 5 15 20)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --local-pods) pods="${2:?--local-pods needs a value}"; shift 2 ;;
    --grid) grid=("${@:2:6}"); shift 7 ;;
    *) fail "unknown argument $1" ;;
  esac
done
mapfile -t rps_list < <(seq "${grid[0]}" "${grid[1]}" "${grid[2]}")
mapfile -t spin_list < <(seq "${grid[3]}" "${grid[4]}" "${grid[5]}")

tmp="$(mktemp -d "${TMPDIR:-/tmp}/knbench-sweep-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

duration=4
warmup=1
# A hung sweep fails the test (TERM runs the script's teardown). Quiet
# 2-core machine: about 60 s with fixed pods, 90 s with local serving (each
# run also holds its scale-down); the bound allows for a loaded one.
run_sweep "${tmp}/sweep.log" 420 --mode local ${pods:+--local-pods "$pods"} \
  --rps-start "${grid[0]}" --rps-step "${grid[1]}" --rps-max "${grid[2]}" \
  --spin-start "${grid[3]}" --spin-step "${grid[4]}" --spin-max "${grid[5]}" \
  --duration "${duration}s" --warmup "$warmup" --outdir "$tmp" --sweep-id sweep \
  --trace-sample-rate 1
assert_torn_down "${tmp}/sweep.log" "${tmp}/sweep"
"$PY" "${ROOT}/tests/integration/check_sweep.py" "${tmp}/sweep" --rps "${rps_list[@]}" \
  --spin "${spin_list[@]}" --duration "$duration" --warmup "$warmup" \
  ${pods:+--local-pods "$pods"} --log "${tmp}/sweep.log"
"$PY" "${ROOT}/tests/integration/check_traces.py" "${tmp}/sweep"
if [[ -n "$pods" ]]; then
  # Run 3 (10 rps) follows run 2 (20 rps): its series must not show run 2.
  # (With local serving a cold start releases its queue in a burst, above
  # any fixed tolerance; there, every run starting at 0 pods is the check.)
  "$PY" "${ROOT}/tests/integration/check_isolation.py" "${tmp}/sweep"
fi
echo "PASS"
