#!/usr/bin/env bash
# Builds our code and tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DKNBENCH_SANITIZE=ON) in their own build dir and runs ctest there.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/sanitize.sh [--build-dir DIR] [--components "a;b"] [--jobs N]
                           [--compiler CXX] [--ctest-args "..."] [--no-test]

Configures DIR (default: build-asan/ at the repo root) with
-DKNBENCH_SANITIZE=ON (ASan+UBSan, UBSan fatal; -O1 -g1), builds the C++
components and runs their ctests there, excluding the fuzz smoke test
(label fuzz: fuzz/run.sh already runs the fuzzers under both sanitizers),
the images test (label images: it builds the images from the Dockerfiles,
not from this build) and the benchmark smoke runs (label bench: timing
under sanitizers measures nothing). Any sanitizer report fails its test;
ctest prints its output.

Options:
  --build-dir DIR     build dir (created if missing, reused after)
  --components LIST   default: common;worker;load_driver;autoscaler_model;cgroups;
                      local_serving;
                      bench (those present)
  --jobs N            parallel build and test jobs (default 2)
  --compiler CXX      C++ compiler (default: clang++ if installed, else c++;
                      clang builds this in about 4/5 of g++'s CPU time)
  --ctest-args ARGS   extra ctest arguments, e.g. "-R reliability"
  --no-test           build only
  -h, --help          this text
Exit: ctest's status (0 when every test passed), 2 on bad usage.
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$root/build-asan"
components=""
jobs=2
compiler=""
ctest_args=""
run_tests=1

KNBENCH_LOG_NAME="scripts/sanitize.sh"
# shellcheck source=scripts/lib/common.sh
source "${root}/scripts/lib/common.sh"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --components) need_value "$@"; components="$2"; shift 2 ;;
    --jobs) need_value "$@"; jobs="$2"; shift 2 ;;
    --compiler) need_value "$@"; compiler="$2"; shift 2 ;;
    --ctest-args) need_value "$@"; ctest_args="$2"; shift 2 ;;
    --no-test) run_tests=0; shift ;;
    *) echo "scripts/sanitize.sh: unknown argument \"$1\" (see --help)" >&2
       exit 2 ;;
  esac
done
if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
  echo "scripts/sanitize.sh: --jobs must be a positive integer" >&2
  exit 2
fi
if [[ -z "$components" ]]; then
  for c in common worker load_driver autoscaler_model cgroups local_serving bench; do
    [[ -f "$root/$c/CMakeLists.txt" ]] && components+="${components:+;}$c"
  done
fi

if [[ -z "$compiler" ]]; then
  compiler="$(command -v clang++ || command -v clang++-14 || command -v c++ || true)"
fi
if ! command -v "$compiler" >/dev/null; then
  echo "scripts/sanitize.sh: no compiler \"$compiler\"" >&2
  exit 2
fi

start=$SECONDS
echo "sanitize: configuring $build_dir ($components) with $compiler" >&2
# -O1 -g1: what ASan's own docs advise, with line numbers in every report,
# and half the compile time of RelWithDebInfo's -O2 -g (measured on five of
# our heaviest files: 30 s of CPU against 55). The binaries link gRPC's shared
# objects: static linking is the images' concern, not the sanitizers'.
cmake -S "$root" -B "$build_dir" -DKNBENCH_SANITIZE=ON \
  -DCMAKE_CXX_COMPILER="$(command -v "$compiler")" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DKNBENCH_STATIC_BINARIES=OFF -DKNBENCH_COMPONENTS="$components"
echo "sanitize: building" >&2
cmake --build "$build_dir" -j"$jobs"
echo "sanitize: built in $((SECONDS - start)) s" >&2
[[ "$run_tests" == 1 ]] || exit 0

# Reports name the source line; leaks are reported at exit; any UBSan
# finding aborts (-fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
# shellcheck disable=SC2086  # ctest_args is a list of words by design
# Not the images test either: it builds the images from the Dockerfiles,
# whatever this build dir holds, so a second run would only repeat it. Nor
# the benchmark's smoke runs (label bench): they time the binaries, which
# sanitizers slow several-fold, and run serially; the reliability suite
# drives the same binaries through their fault paths.
(cd "$build_dir" && ctest --output-on-failure -j"$jobs" -LE "fuzz|images|bench" $ctest_args) ||
  status=$?
echo "sanitize: done in $((SECONDS - start)) s, ctest exit $status" >&2
exit "$status"
