#!/usr/bin/env bash
# Benchmarks of the worker and the load driver on this machine, with h2load
# as a peer; writes bench/results/latest.{json,md} and prints the table.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/run.sh [--build-dir DIR] [--no-build] [--quick | --soak DURATION]
                    [--out-dir DIR] [--max-load L [--max-wait S]] [--check]
                    [--keep]
       bench/run.sh --local-serving [--build-dir DIR] [--no-build] [--quick]
                    [--out-dir DIR] [--max-load L [--max-wait S]] [--check]

Measures, on loopback, every process bound to 127.0.0.1 (see docs/bench.md):
  per rate  1 000, 5 000, 10 000, 20 000 RPS (spin 0), 3 runs each: share
            sent on time and answered, lag p50/p99/max, driver and worker
            CPU per call (2-8 s window / whole process) and RSS; h2load at
            the same rate after each run
  rate      the highest rate sustained (every call sent with lag p99 <= 1
            ms and answered) in 3 of 3 runs
  overload  30 s at twice that rate, then a run at half of it (clean?)
  tracing   5 000 RPS with tracing off, at --trace-sample-rate 0.01 and
            1.0 (driver and worker --trace-out into the scratch dir): CPU
            per call of both (window / whole) and its ratio to the off run
            of the same round, median of 3 rounds in alternating order
            (~2 min); the span counts must match the rate
  worker    idle RSS, exec to listening and to the first answered call
            (median of 20), CPU per call under h2load -c1 -m10, spin
            accuracy at 1/10/100 ms

Options:
  --build-dir DIR   existing CMake build dir (default: build/); the script
                    runs `cmake --build DIR --target worker load_driver
                    cold_start` first (it never configures)
  --no-build        use the binaries as they are
  --worker PATH, --driver PATH, --cold-start PATH
                    binaries (default: under the build dir)
  --local-serving   instead, what local_serving's router costs against a
                    direct connection: latency p50/p99 and their ratios,
                    its CPU per proxied call (window and whole process)
                    against the worker behind it at 1 000 and 5 000 RPS,
                    the highest rate with every call answered through it
                    and straight to a worker; each the median of 3 runs
                    (~4 min); writes local-serving-latest.*; builds
                    local_serving too
  --local-serving-bin PATH
                    the local_serving binary (default: under the build dir)
  --quick           short smoke run (< 60 s); numbers are not meaningful
  --soak DURATION   constant load (--soak-rps, default 1000, spin
                    --soak-spin-ms, default 0) for DURATION (e.g. 10m);
                    RSS and open fds of both processes every
                    --sample-interval seconds (10); writes soak-latest.*
  --max-load L      first wait until the 1-minute load average is below L
                    (the machine is shared); at most --max-wait seconds
                    (600); the load is reported either way
  --out-dir DIR     where results go (default: bench/results)
  --check           afterwards, fail unless every field is present
  --keep            keep the scratch directory with CSVs and logs
  -h, --help        this text

Exit: 0 when every measurement ran (targets missed are reported, not
failures), 1 when one failed, 2 on bad usage.
USAGE
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build_dir="$root/build"
build=1
pass=()
out_dir="$here/results"
worker="" driver="" cold_start="" serving="" local_serving=0

KNBENCH_LOG_NAME="bench/run.sh"
# shellcheck source=scripts/lib/common.sh
source "${root}/scripts/lib/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --no-build) build=0; shift ;;
    --worker) need_value "$@"; worker="$2"; shift 2 ;;
    --worker=*) worker="${1#*=}"; shift ;;
    --driver) need_value "$@"; driver="$2"; shift 2 ;;
    --driver=*) driver="${1#*=}"; shift ;;
    --cold-start) need_value "$@"; cold_start="$2"; shift 2 ;;
    --cold-start=*) cold_start="${1#*=}"; shift ;;
    --local-serving) local_serving=1; shift ;;
    --local-serving-bin) need_value "$@"; serving="$2"; shift 2 ;;
    --local-serving-bin=*) serving="${1#*=}"; shift ;;
    --out-dir) need_value "$@"; out_dir="$2"; shift 2 ;;
    --out-dir=*) out_dir="${1#*=}"; shift ;;
    --quick|--check|--keep) pass+=("$1"); shift ;;
    --soak|--soak-rps|--soak-spin-ms|--sample-interval|--max-load|--max-wait)
      need_value "$@"; pass+=("$1" "$2"); shift 2 ;;
    --soak=*|--soak-rps=*|--soak-spin-ms=*|--sample-interval=*|--max-load=*|--max-wait=*)
      pass+=("$1"); shift ;;
    *) echo "bench/run.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done

if [[ "$local_serving" == 1 ]]; then
  for a in ${pass[@]+"${pass[@]}"}; do
    case "$a" in
      --soak*|--sample-interval*|--keep)
        echo "bench/run.sh: $a does not apply to --local-serving" >&2; exit 2 ;;
    esac
  done
fi

if [[ "$build" == 1 ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    echo "bench/run.sh: $build_dir is not a configured CMake build dir" \
         "(configure it first, e.g. cmake -S $root -B $build_dir)" >&2
    exit 2
  fi
  if [[ "$local_serving" == 1 ]]; then
    cmake --build "$build_dir" -j2 --target worker load_driver local_serving
  else
    cmake --build "$build_dir" -j2 --target worker load_driver cold_start
  fi
fi
worker="${worker:-$build_dir/worker/worker}"
driver="${driver:-$build_dir/load_driver/load_driver}"
cold_start="${cold_start:-$build_dir/bench/cold_start}"

if [[ "$local_serving" == 1 ]]; then
  exec /usr/bin/python3 "$here/local_serving_bench.py" \
    --local-serving "${serving:-$build_dir/local_serving/local_serving}" \
    --worker "$worker" --driver "$driver" --out-dir "$out_dir" \
    ${pass[@]+"${pass[@]}"}
fi

exec /usr/bin/python3 "$here/bench.py" --worker "$worker" --driver "$driver" \
  --cold-start "$cold_start" --out-dir "$out_dir" ${pass[@]+"${pass[@]}"}
