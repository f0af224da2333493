#!/usr/bin/env bash
# The kit's main job in one command: install what is missing, build, run the
# local sweep (the worker behind local serving, scaled 0 -> N -> 0 by Knative's
# KPA, the driver, a real Prometheus), print where report.html is.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/quickstart.sh [--help] [run_experiments.sh options...]

1. scripts/install_deps.sh   (apt packages; needs root or sudo)
2. builds worker, load_driver, local_serving and kpa_model into BUILD_DIR
   (default build/)
3. scripts/run_experiments.sh --mode local [your options]: by default 6 runs
   (RPS 20, 110, 200 x spin 10, 100 ms, 20 s each) against the worker behind
   local serving, about 3 to 4 minutes on 2 cores once built
The sweep's last line names the report.html to open.
USAGE
}

for arg in "$@"; do
  case "$arg" in
    --help|-h) usage; exit 0 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

"$root/scripts/install_deps.sh"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target worker load_driver local_serving kpa_model
exec "$root/scripts/run_experiments.sh" --mode local --build-dir "$build_dir" "$@"
