#!/usr/bin/env bash
# Fast checks of scripts/run_experiments.sh and scripts/lib/common.sh: --help,
# defaults per mode, flag > env > default, rejected input (named as the user
# wrote it, bounded so that --dry-run catches what the driver would refuse),
# failed starts that leave nothing behind, duration parsing and free ports.
# Usage: run_experiments_args_test.sh [LOCAL_SERVING_BIN]
#   --dry-run, like a sweep, needs the binaries: a build directory of the
#   stand-ins (tests/scripts/fakes) is BUILD_DIR, with local_serving's binary
#   when given, so that --dry-run resolves local serving's settings with it
#   (local_serving --check-config), bad ones included.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN="${ROOT}/scripts/run_experiments.sh"
FAKES="${ROOT}/tests/scripts/fakes"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Keep the caller's sweep variables out of the defaults under test.
unset RPS_START RPS_STEP RPS_MAX SPIN_START SPIN_STEP SPIN_MAX RUN_DURATION WARMUP_SECONDS \
  FAIL_THRESHOLD PROM_URL OUTDIR SWEEP_ID BUILD_DIR LOCAL_WORKERS WORKER_BIN DRIVER_BIN RATE_WINDOW \
  REPEAT ORDER SEED THRESHOLDS LOCAL_PODS LOCAL_SERVING_ARGS LOCAL_SERVING_BIN KNATIVE_MANIFEST \
  KPA_MODEL_BIN DRIVER_ARGS WORKER_ARGS
serving_bin="${1:-}"
if [[ -n "$serving_bin" ]]; then
  [[ -x "$serving_bin" ]] || fail "local_serving binary '${serving_bin}' is not executable"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bins="${tmp}/build"
for b in worker/worker load_driver/load_driver local_serving/local_serving; do
  mkdir -p "${bins}/${b%/*}"
  ln -s "${FAKES}/${b#*/}" "${bins}/${b}"
done
[[ -z "$serving_bin" ]] || ln -sf "$(realpath "$serving_bin")" "${bins}/local_serving/local_serving"
export BUILD_DIR="$bins"
# Prometheus as a sweep finds it (the stand-in, where Debian's is not installed).
mkdir "${tmp}/path" && ln -s "${FAKES}/prometheus" "${tmp}/path/prometheus"
export PATH="${PATH}:${tmp}/path"

help="$("$RUN" --help)"
for word in --mode --rps-start --rps-step --rps-max --spin-start --spin-step --spin-max \
  --duration --warmup --fail-threshold --prom-url --outdir --sweep-id --build-dir --workers \
  --local-pods LOCAL_PODS --manifest KNATIVE_MANIFEST --serving-args LOCAL_SERVING_ARGS \
  LOCAL_SERVING_BIN KPA_MODEL_BIN \
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
expect "$out" "spin_ms=10 100"
expect "$out" "runs=6"
expect "$out" "run_duration_s=20"
expect "$out" "warmup_s=5"
expect "$out" "fail_threshold=0.10"
expect "$out" "worker_bin=${bins}/worker/worker"
# Without BUILD_DIR the binaries are in <repo>/build: a dry run prints their
# paths when they are built, else names the one missing, as a sweep would.
rc=0
default="$(env -u BUILD_DIR "$RUN" --dry-run --local-pods 1 2>&1)" || rc=$?
if [[ -x "${ROOT}/build/worker/worker" && -x "${ROOT}/build/load_driver/load_driver" ]]; then
  ((rc == 0)) || fail "--dry-run with ${ROOT}/build built exited ${rc}: ${default}"
  expect "$default" "worker_bin=${ROOT}/build/worker/worker"
else
  ((rc == 2)) || fail "--dry-run with nothing built in ${ROOT}/build exited ${rc}: ${default}"
  [[ "$default" == "run_experiments: error: "*"binary not found or not executable: '${ROOT}/build/"* ]] ||
    fail "--dry-run with nothing built in ${ROOT}/build said: ${default}"
fi
expect "$out" "rate_window_s=3"
# Local serving by default, with the manifest's settings and a 6 s stable window.
expect "$out" "system=local serving"
expect "$out" "manifest=${ROOT}/deploy/base/worker/knative-service.yaml"
expect "$out" "serving_args=--window 6s --initial-scale 0"
[[ "$(grep -c '^prom_url=' <<<"$out")" == 1 ]] || fail "prom_url is not printed exactly once: ${out}"
grep -Eq '^planned_time=[0-9]+m[0-9]{2}s \(6 runs x 20s of load = 2m00s, plus about [0-9]+s per run' <<<"$out" ||
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
expect "$out" "system=fixed pods"
expect "$(LOCAL_PODS=3 "$RUN" --dry-run --rps-start 5)" "workers=3"
expect "$("$RUN" --dry-run --local-pods 2)" "workers=2"
out="$("$RUN" --dry-run --serving-args '--window 10s' --manifest "${ROOT}/deploy/base/worker/knative-service.yaml")"
expect "$out" "serving_args=--window 10s"
expect "$out" "manifest=${ROOT}/deploy/base/worker/knative-service.yaml"

# Repeated --threshold flags and THRESHOLDS (spaces or commas) become one list.
out="$(THRESHOLDS="p99<1s failure_rate<0.1" "$RUN" --dry-run --stop-on-threshold)"
expect "$out" "thresholds=p99<1s,failure_rate<0.1"
expect "$out" "stop_on_threshold=1"
out="$("$RUN" --dry-run --threshold 'p99<1s' --threshold=max\<2s)"
expect "$out" "thresholds=p99<1s,max<2s"
expect "$out" "stop_on_threshold=0"

# The plan: grid order is repeat by repeat, spin outer, rps inner.
out="$("$RUN" --dry-run --repeat 2 --rps-max 110 --spin-step 45 --spin-max 55)"
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
shuffled() { "$RUN" --dry-run --repeat 2 --rps-max 110 --spin-step 45 --spin-max 55 --order shuffled --seed "$1" |
  grep '^plan ' | sed 's/^plan [0-9]*\/8 //; s/ files=.*//'; }
s3="$(shuffled 3)"
[[ "$(sort <<<"$s3")" == "$(sed 's/^plan [0-9]*\/8 //' <<<"$plan" | sort)" ]] ||
  fail "the shuffled plan is not the same runs: ${s3}"
[[ "$s3" == "$(shuffled 3)" ]] || fail "the same seed gave another order"
[[ "$s3" != "$(sed 's/^plan [0-9]*\/8 //' <<<"$plan")" ]] || fail "--order shuffled kept the grid order"
[[ "$s3" != "$(shuffled 4)" ]] || fail "seeds 3 and 4 gave the same order"

# Bad input: one clear error line, exit 2, nothing started.
reject() { # reject EXPECTED_SUBSTRING [env VAR=VALUE...] ARGS...
  local want="$1" rc=0 err
  local -a vars=()
  shift
  if [[ "${1:-}" == env ]]; then
    shift
    while [[ "${1:-}" == *=* && "${1:-}" != -* ]]; do
      vars+=("$1")
      shift
    done
  fi
  err="$(env "${vars[@]}" "$RUN" "$@" 2>&1 >/dev/null)" || rc=$?
  ((rc == 2)) || fail "'$*' exited ${rc}, expected 2"
  [[ "$(wc -l <<<"$err")" -eq 1 ]] || fail "'$*' printed more than one error line: ${err}"
  [[ "$err" == "run_experiments: error: "*"$want"* ]] || fail "'$*' said '${err}', expected '${want}'"
}
reject "--mode must be local or cluster" --mode k8s
reject "unknown argument '--bogus'" --bogus
reject "--rps-step needs a value" --rps-step
# Each error names what the user wrote: the flag (as spelled), else the
# variable, else the flag of the default.
reject "--rps-step must be a whole number of requests/s from 1 to 10000000, got '0'" --rps-step 0
reject "--rps-step must be a whole number" --rps-step=0
reject "RPS_STEP must be a whole number of requests/s" env RPS_STEP=0
reject "--spin-start must be a whole number of ms from 1 to 600000, got '-5'" --spin-start -5
reject "--rps-start (300) is above --rps-max (200)" --rps-start 300
reject "RPS_START (300) is above RPS_MAX (20)" env RPS_START=300 RPS_MAX=20
reject "--duration must be a whole-second duration" --duration 5x
reject "--duration must be a whole-second duration" --duration 1.5s
reject "RUN_DURATION must be a whole-second duration" env RUN_DURATION=5x
reject "the warm-up (30s, --warmup) must be shorter than the run (20s, --duration)" --warmup 30
reject "--fail-threshold must be a ratio between 0 and 1, got '2'" --fail-threshold 2
reject "--rate-window must be a whole-second duration" --rate-window 0s
reject "--rate-window must be a whole-second duration" --rate-window 500ms
reject "--stop-on-threshold needs at least one --threshold" --stop-on-threshold
reject "--threshold is local-mode only" --mode cluster --threshold 'p99<1s'
reject "--local-pods is local-mode only" --mode cluster --local-pods 2
reject "--serving-args is local-mode only" --mode cluster --serving-args '--window 6s'
reject "--repeat must be a whole number from 1 to 1000, got '0'" --repeat 0
reject "--order must be grid or shuffled, got 'random'" --order random
reject "--seed must be a whole number from 0 to 4294967295, got 'x'" --seed x
reject "--workers must be a whole number of worker processes from 1 to 64, got 'two'" --workers two
reject "--local-pods must be a whole number of worker processes" --local-pods 0
reject "LOCAL_WORKERS must be a whole number of worker processes" env LOCAL_WORKERS=two
reject "--sweep-id may hold only" --sweep-id "../x"
reject "--rps-start (2) is below --workers (3)" --rps-start 2 --workers 3
# Values the driver or worker would refuse only once a run starts, and
# numbers bash arithmetic would wrap, are refused by --dry-run already.
reject "RPS_START must be a whole number of requests/s from 1 to 10000000, got '99999999999999999999'" \
  env RPS_START=99999999999999999999 --dry-run
reject "--rps-max must be a whole number of requests/s from 1 to 10000000, got '18446744073709551617'" \
  --rps-max 18446744073709551617 --dry-run
reject "SPIN_START must be a whole number of ms from 1 to 600000, got '700000'" \
  env SPIN_START=700000 SPIN_MAX=700000 --dry-run
reject "--duration must be a whole-second duration from 1s to 168h" --duration 9999999999s --dry-run
reject "--duration must be a whole-second duration from 1s to 168h" --duration 169h --dry-run
reject "the plan has 4000000 runs" --rps-step 1 --rps-max 2000019 --dry-run
reject "the Knative Service manifest '/nonexistent.yaml' does not exist" --manifest /nonexistent.yaml --dry-run
if [[ -n "$serving_bin" ]]; then
  # local_serving --check-config resolves the settings; a bad one is its own one-line error.
  out="$(LOCAL_SERVING_BIN="$serving_bin" "$RUN" --dry-run)"
  expect "$out" "pod_start_delay=2s"
  expect "$out" "stable_window=6s"
  expect "$out" "idle_pods=0"
  # Scale to zero off, in any spelling local_serving accepts: idle is 1 pod.
  for off in --enable-scale-to-zero=false --noenable-scale-to-zero --enable_scale_to_zero=no; do
    expect "$(LOCAL_SERVING_BIN="$serving_bin" "$RUN" --dry-run --serving-args "$off")" "idle_pods=1"
  done
  # Between runs: the rate window + 3 s, and the 6 s stable window of the scale-down.
  grep -Eq '^planned_time=.*plus about 12s per run' <<<"$out" || fail "the planned time ignores the stable window: ${out}"
  LOCAL_SERVING_BIN="$serving_bin" reject "local serving's settings are invalid: " \
    --serving-args '--window 2s' --dry-run
  LOCAL_SERVING_BIN="$serving_bin" reject "local serving's settings are invalid: " \
    --serving-args '--no-such-flag=1' --dry-run
fi

# Missing binaries are reported before anything starts, and the failed start
# leaves no directory behind: the same --sweep-id works again at once.
for attempt in 1 2; do
  rc=0
  err="$(WORKER_BIN="${tmp}/no-worker" "$RUN" --local-pods 1 --outdir "$tmp" --sweep-id s \
    --no-analyze 2>&1)" || rc=$?
  ((rc == 2)) || fail "a missing worker binary exited ${rc} (attempt ${attempt}): ${err}"
  grep -q "worker binary not found or not executable: '${tmp}/no-worker'" <<<"$err" ||
    fail "missing worker binary not reported (attempt ${attempt}): ${err}"
  [[ ! -e "${tmp}/s" ]] || fail "a failed start left ${tmp}/s behind: $(ls -R "${tmp}/s")"
done
rc=0
err="$(env -u LOCAL_SERVING_BIN "$RUN" --build-dir "${tmp}/no-build" --outdir "$tmp" --sweep-id s --no-analyze 2>&1)" || rc=$?
((rc == 2)) || fail "a bad --build-dir exited ${rc}: ${err}"
grep -q "binary not found or not executable: '${tmp}/no-build/" <<<"$err" ||
  fail "a bad --build-dir is not reported: ${err}"
[[ ! -e "${tmp}/s" ]] || fail "a bad --build-dir left ${tmp}/s behind"
# An existing, empty directory is kept (it was the user's), but emptied of
# what the failed start wrote.
mkdir "${tmp}/kept"
"$RUN" --build-dir "${tmp}/no-build" --outdir "$tmp" --sweep-id kept --no-analyze >/dev/null 2>&1 &&
  fail "a bad --build-dir succeeded"
[[ -d "${tmp}/kept" && -z "$(ls -A "${tmp}/kept")" ]] || fail "the user's empty sweep dir was not kept empty"

# An OUTDIR that cannot be created: one line naming it, exit 2.
touch "${tmp}/file"
rc=0
err="$("$RUN" --outdir "${tmp}/file/sub" --sweep-id s --no-analyze 2>&1)" || rc=$?
((rc == 2)) || fail "an impossible --outdir exited ${rc}: ${err}"
[[ "$(wc -l <<<"$err")" -eq 1 ]] || fail "an impossible --outdir printed more than one line: ${err}"
[[ "$err" == "run_experiments: error: cannot create the sweep directory ${tmp}/file/sub/s (--outdir): Not a directory" ]] ||
  fail "an impossible --outdir said: ${err}"
rc=0
err="$(OUTDIR="${tmp}/file" "$RUN" --sweep-id s --no-analyze 2>&1)" || rc=$?
if ((rc != 2)) || [[ "$err" != *"(OUTDIR)"* || "$(wc -l <<<"$err")" -ne 1 ]]; then
  fail "OUTDIR naming a file: exit ${rc}, ${err}"
fi

# A sweep directory that holds results is never overwritten; one that holds
# something else is not taken for results.
mkdir -p "${tmp}/s2" && touch "${tmp}/s2/results-1rps-1ms.csv"
rc=0
err="$("$RUN" --outdir "$tmp" --sweep-id s2 2>&1)" || rc=$?
if ((rc != 2)) || ! grep -q "already holds results" <<<"$err"; then
  fail "existing sweep dir not refused: ${err}"
fi
mkdir -p "${tmp}/s3" && touch "${tmp}/s3/notes.txt"
rc=0
err="$("$RUN" --outdir "$tmp" --sweep-id s3 2>&1)" || rc=$?
if ((rc != 2)) || [[ "$err" != *"is not empty (it holds no results"* ]]; then
  fail "a non-empty dir without results: exit ${rc}, ${err}"
fi

# common.sh helpers
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"
# Bounded numbers: uint_at_most does not wrap.
uint_at_most 10000000 10000000 || fail "uint_at_most refused its bound"
uint_at_most 0010 10 || fail "uint_at_most refused leading zeros"
for bad in 10000001 99999999999999999999 18446744073709551617 -1 1e3 ""; do
  uint_at_most "$bad" 10000000 && fail "uint_at_most accepted '${bad}'"
done
posint_at_most 0 5 && fail "posint_at_most accepted 0"
for case in "90:90" "90s:90" "12m:720" "1m30s:90" "1h:3600" "2h3m4s:7384"; do
  got="$(duration_seconds "${case%%:*}")" || fail "duration_seconds ${case%%:*} failed"
  [[ "$got" == "${case#*:}" ]] || fail "duration_seconds ${case%%:*} = ${got}, expected ${case#*:}"
done
for bad in "" "1.5s" "5x" "m" "-3s" "1s2" "99999999999999999999" "9999999999s"; do
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
