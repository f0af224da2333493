#!/usr/bin/env bash
# Fast checks of scripts/run_experiments.sh and scripts/lib/common.sh that need
# no binaries: --help, defaults per mode, flag > env > default, rejected input,
# duration parsing and free ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN="${ROOT}/scripts/run_experiments.sh"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Keep the caller's sweep variables out of the defaults under test.
unset RPS_START RPS_STEP RPS_MAX SPIN_START SPIN_STEP SPIN_MAX RUN_DURATION WARMUP_SECONDS \
  FAIL_THRESHOLD PROM_URL OUTDIR SWEEP_ID BUILD_DIR LOCAL_WORKERS WORKER_BIN DRIVER_BIN RATE_WINDOW \
  REPEAT ORDER SEED THRESHOLDS

help="$("$RUN" --help)"
for word in --mode --rps-start --rps-step --rps-max --spin-start --spin-step --spin-max \
  --duration --warmup --fail-threshold --prom-url --outdir --sweep-id --build-dir --workers \
  --no-analyze --dry-run --rate-window RATE_WINDOW --repeat --order --seed REPEAT ORDER SEED --threshold --stop-on-threshold THRESHOLDS RPS_START RPS_STEP RPS_MAX SPIN_START SPIN_STEP SPIN_MAX RUN_DURATION \
  WARMUP_SECONDS FAIL_THRESHOLD PROM_URL OUTDIR WORKER_BIN DRIVER_BIN WORKER_ARGS; do
  grep -q -- "$word" <<<"$help" || fail "--help does not mention ${word}"
done

expect() { # expect OUTPUT LINE
  grep -qxF -- "$2" <<<"$1" || fail "expected line '$2' in:"$'\n'"$1"
}
out="$("$RUN" --dry-run)"
expect "$out" "mode=local"
expect "$out" "rps=20 110 200"
expect "$out" "spin_ms=10 55 100"
expect "$out" "runs=9"
expect "$out" "run_duration_s=12"
expect "$out" "warmup_s=4"
expect "$out" "fail_threshold=0.10"
expect "$out" "worker_bin=${ROOT}/build/worker/worker"
expect "$out" "rate_window_s=3"
grep -Eq '^planned_time=[0-9]+m[0-9]{2}s \(9 runs x 12s of load = 1m48s, plus about [0-9]+s per run' <<<"$out" ||
  fail "no planned_time line for the local default: ${out}"

out="$("$RUN" --dry-run --mode cluster)"
expect "$out" "rps=10 50 90 130"
expect "$out" "spin_ms=100 400 700 1000"
expect "$out" "runs=16"
expect "$out" "run_duration_s=720"
expect "$out" "warmup_s=120"
expect "$out" "rate_window_s=60"
# The original's sweep: 3 h 12 min of load alone, more with the waits between runs.
grep -Eq '^planned_time=3h[0-9]{2}m[0-9]{2}s \(16 runs x 720s of load = 3h12m00s' <<<"$out" ||
  fail "no planned_time line for the cluster default: ${out}"

# env beats default, flag beats env, --flag=value works
out="$(RPS_START=5 RPS_STEP=5 RPS_MAX=15 RUN_DURATION=1m30s WARMUP_SECONDS=1m FAIL_THRESHOLD=0.5 \
  OUTDIR=/tmp/o SWEEP_ID=abc LOCAL_WORKERS=2 "$RUN" --dry-run --rps-max=10 --spin-max 10)"
expect "$out" "rps=5 10"
expect "$out" "spin_ms=10"
expect "$out" "run_duration_s=90"
expect "$out" "warmup_s=60"
expect "$out" "fail_threshold=0.5"
expect "$out" "sweep_dir=/tmp/o/abc"
expect "$out" "workers=2"

# Repeated --threshold flags and THRESHOLDS (spaces or commas) become one list.
out="$(THRESHOLDS="p99<1s failure_rate<0.1" "$RUN" --dry-run --stop-on-threshold)"
expect "$out" "thresholds=p99<1s,failure_rate<0.1"
expect "$out" "stop_on_threshold=1"
out="$("$RUN" --dry-run --threshold 'p99<1s' --threshold=max\<2s)"
expect "$out" "thresholds=p99<1s,max<2s"
expect "$out" "stop_on_threshold=0"

# The plan: grid order is repeat by repeat, spin outer, rps inner.
out="$("$RUN" --dry-run --repeat 2 --rps-max 110 --spin-max 55)"
expect "$out" "runs=8"
expect "$out" "repeat=2"
plan="$(grep '^plan ' <<<"$out" | sed 's/ files=.*//')"
want="plan 1/8 rps=20 spin=10ms repeat=1
plan 2/8 rps=110 spin=10ms repeat=1
plan 3/8 rps=20 spin=55ms repeat=1
plan 4/8 rps=110 spin=55ms repeat=1
plan 5/8 rps=20 spin=10ms repeat=2
plan 6/8 rps=110 spin=10ms repeat=2
plan 7/8 rps=20 spin=55ms repeat=2
plan 8/8 rps=110 spin=55ms repeat=2"
[[ "$plan" == "$want" ]] || fail "grid plan is"$'\n'"${plan}"
grep -q '^plan 8/8 .* files=\*-110rps-55ms-r2\.\*$' <<<"$out" || fail "repeat files are not named -rN: ${out}"
grep -q 'files=\*-20rps-10ms\.\*$' <<<"$("$RUN" --dry-run)" || fail "without repeats the names changed"
# Shuffled: the same runs, in an order fixed by the seed.
shuffled() { "$RUN" --dry-run --repeat 2 --rps-max 110 --spin-max 55 --order shuffled --seed "$1" |
  grep '^plan ' | sed 's/^plan [0-9]*\/8 //; s/ files=.*//'; }
s3="$(shuffled 3)"
[[ "$(sort <<<"$s3")" == "$(sed 's/^plan [0-9]*\/8 //' <<<"$plan" | sort)" ]] ||
  fail "the shuffled plan is not the same runs: ${s3}"
[[ "$s3" == "$(shuffled 3)" ]] || fail "the same seed gave another order"
[[ "$s3" != "$(sed 's/^plan [0-9]*\/8 //' <<<"$plan")" ]] || fail "--order shuffled kept the grid order"
[[ "$s3" != "$(shuffled 4)" ]] || fail "seeds 3 and 4 gave the same order"

# Bad input: one clear error line, exit 2, nothing started.
reject() { # reject EXPECTED_SUBSTRING ARGS...
  local want="$1" rc=0 err
  shift
  err="$("$RUN" "$@" 2>&1 >/dev/null)" || rc=$?
  ((rc == 2)) || fail "'$*' exited ${rc}, expected 2"
  [[ "$(wc -l <<<"$err")" -eq 1 ]] || fail "'$*' printed more than one error line: ${err}"
  [[ "$err" == "run_experiments: error: "*"$want"* ]] || fail "'$*' said '${err}', expected '${want}'"
}
reject "--mode must be local or cluster" --mode k8s
reject "unknown argument '--bogus'" --bogus
reject "--rps-step needs a value" --rps-step
reject "RPS_STEP must be a positive integer, got '0'" --rps-step 0
reject "SPIN_START must be a positive integer, got '-5'" --spin-start -5
reject "RPS_START (300) is above RPS_MAX (200)" --rps-start 300
reject "RUN_DURATION must be a positive whole-second duration" --duration 5x
reject "RUN_DURATION must be a positive whole-second duration" --duration 1.5s
reject "the warm-up (20s) must be shorter than the run (12s)" --warmup 20
reject "FAIL_THRESHOLD must be a ratio between 0 and 1, got '2'" --fail-threshold 2
reject "RATE_WINDOW must be a positive whole-second duration" --rate-window 0s
reject "RATE_WINDOW must be a positive whole-second duration" --rate-window 500ms
reject "--stop-on-threshold needs at least one --threshold" --stop-on-threshold
reject "--threshold is local-mode only" --mode cluster --threshold 'p99<1s'
reject "REPEAT must be a positive integer, got '0'" --repeat 0
reject "ORDER must be grid or shuffled, got 'random'" --order random
reject "SEED must be a non-negative integer, got 'x'" --seed x
reject "LOCAL_WORKERS must be a positive integer, got 'two'" --workers two
reject "SWEEP_ID may hold only" --sweep-id "../x"
reject "RPS_START (2) is below --workers (3)" --rps-start 2 --workers 3

# Missing binaries are reported before anything starts.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rc=0
err="$(WORKER_BIN="${tmp}/no-worker" "$RUN" --outdir "$tmp" --sweep-id s --no-analyze 2>&1)" || rc=$?
((rc == 2)) || fail "a missing worker binary exited ${rc}: ${err}"
grep -q "worker binary not found or not executable: '${tmp}/no-worker'" <<<"$err" ||
  fail "missing worker binary not reported: ${err}"

# A sweep directory that holds results is never overwritten.
mkdir -p "${tmp}/s2" && touch "${tmp}/s2/results-1rps-1ms.csv"
rc=0
err="$("$RUN" --outdir "$tmp" --sweep-id s2 2>&1)" || rc=$?
if ((rc != 2)) || ! grep -q "already holds results" <<<"$err"; then
  fail "existing sweep dir not refused: ${err}"
fi

# common.sh helpers
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"
for case in "90:90" "90s:90" "12m:720" "1m30s:90" "1h:3600" "2h3m4s:7384"; do
  got="$(duration_seconds "${case%%:*}")" || fail "duration_seconds ${case%%:*} failed"
  [[ "$got" == "${case#*:}" ]] || fail "duration_seconds ${case%%:*} = ${got}, expected ${case#*:}"
done
for bad in "" "1.5s" "5x" "m" "-3s" "1s2"; do
  duration_seconds "$bad" >/dev/null && fail "duration_seconds accepted '${bad}'"
done
ports=()
for _ in 1 2 3 4 5 6; do
  free_port p || fail "free_port failed"
  ports+=("$p")
done
[[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" -eq 6 ]] || fail "free_port repeated a port: ${ports[*]}"
# Each one is really bindable right now.
/usr/bin/python3 - "${ports[@]}" <<'PYEOF' || fail "a port from free_port was not free"
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(); s.bind(("127.0.0.1", int(p))); s.close()
PYEOF
echo "PASS"
