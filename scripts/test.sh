#!/usr/bin/env bash
# Builds everything and runs every test (unit, integration, manifests, plots).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/test.sh [--help] [--build-dir DIR] [--no-test] [-- CTEST_ARGS...]

Configures (Release), builds with all cores, and runs ctest with output on
failure (--no-test: build only). Extra arguments after -- go to ctest
(e.g. -- -R worker).
Environment: BUILD_DIR (default build), JOBS (default nproc).
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
jobs="${JOBS:-$(nproc)}"
ctest_args=()
run_tests=1
while (($#)); do
  case "$1" in
    --help|-h) usage; exit 0 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-test) run_tests=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs"
[[ "$run_tests" == 1 ]] || exit 0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "${ctest_args[@]}"
