#!/usr/bin/env bash
# Benchmarks of the worker and the load driver on this machine, with h2load
# as a peer; writes bench/results/latest.{json,md} and prints the table.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/run.sh [--build-dir DIR] [--no-build] [--quick | --soak DURATION]
                    [--out-dir DIR] [--check] [--keep]

Measures, against a local worker on loopback (see docs/bench.md):
  driver  highest open-loop rate sustained (all sent, lag p99 <= 1 ms),
          CPU us/request and RSS at 2 000 RPS
  worker  CPU us/request and overhead latency p50/p99 at 1 000 RPS (spin 0
          and 10 ms), spin accuracy at 1/10/100 ms, idle RSS, RSS after
          100 000 calls, cold start (median of 20)
  peer    h2load sending the same gRPC call at 2 000 RPS: CPU us/request,
          and the driver's CPU per request as a ratio to it

Options:
  --build-dir DIR   existing CMake build dir (default: build/); the script
                    runs `cmake --build DIR --target worker load_driver
                    cold_start` first (it never configures)
  --no-build        use the binaries as they are
  --worker PATH, --driver PATH, --cold-start PATH
                    binaries (default: under the build dir)
  --quick           short smoke run (< 60 s); numbers are not meaningful
  --soak DURATION   constant load (--soak-rps, default 1000, spin
                    --soak-spin-ms, default 0) for DURATION (e.g. 10m);
                    RSS and open fds of both processes every
                    --sample-interval seconds (10); writes soak-latest.*
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
worker="" driver="" cold_start=""

need_value() {
  if [[ $# -lt 2 || -z "$2" ]]; then
    echo "bench/run.sh: $1 needs a value" >&2
    exit 2
  fi
}

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
    --out-dir) need_value "$@"; out_dir="$2"; shift 2 ;;
    --out-dir=*) out_dir="${1#*=}"; shift ;;
    --quick|--check|--keep) pass+=("$1"); shift ;;
    --soak|--soak-rps|--soak-spin-ms|--sample-interval)
      need_value "$@"; pass+=("$1" "$2"); shift 2 ;;
    --soak=*|--soak-rps=*|--soak-spin-ms=*|--sample-interval=*)
      pass+=("$1"); shift ;;
    *) echo "bench/run.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done

if [[ "$build" == 1 ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    echo "bench/run.sh: $build_dir is not a configured CMake build dir" \
         "(configure it first, e.g. cmake -S $root -B $build_dir)" >&2
    exit 2
  fi
  cmake --build "$build_dir" -j2 --target worker load_driver cold_start
fi
worker="${worker:-$build_dir/worker/worker}"
driver="${driver:-$build_dir/load_driver/load_driver}"
cold_start="${cold_start:-$build_dir/bench/cold_start}"

exec /usr/bin/python3 "$here/bench.py" --worker "$worker" --driver "$driver" \
  --cold-start "$cold_start" --out-dir "$out_dir" ${pass[@]+"${pass[@]}"}
