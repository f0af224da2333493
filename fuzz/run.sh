#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang build dir and runs each for
# a bounded time. A crash leaves its input under <build-dir>/artifacts/.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: fuzz/run.sh [--seconds N] [--build-dir DIR] [--only NAME]...
                   [--components "a;b"] [--no-build]

Configures DIR (default: build-fuzz/ at the repo root) with clang++,
-DKNBENCH_FUZZ=ON and -DKNBENCH_SANITIZE=ON (ASan+UBSan), builds the fuzz
targets and runs each for N seconds (default 60) on its seed corpus
(fuzz/corpus/<name>) plus a working corpus kept in DIR/corpus/<name>.

Targets: schedule_fuzz (--schedule grammar, arrivals), trace_fuzz (trace
files), flags_fuzz (knbench::ParseFlags), http_fuzz (the metrics port's
HTTP request heads and Range headers), values_fuzz (ParsePort, env ports,
ParseSpinClock, --target syntax, the driver's ResolveConfig),
kpa_input_fuzz and kpa_manifest_fuzz (the KPA model's CSV and manifest
readers, when autoscaler_model/ builds).

Options:
  --seconds N        time per target (default 60)
  --build-dir DIR    clang build dir (created if missing)
  --only NAME        run only this target (repeatable)
  --components LIST  components to configure, ';' or ',' between them
                     (default: common;worker;load_driver;autoscaler_model,
                     those present)
  --no-build         run what is built
  -h, --help         this text
Exit: 0 when every target built and none found a crash, 1 otherwise,
2 on bad usage.
USAGE
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
seconds=60
build_dir="$root/build-fuzz"
only=()
components=""
build=1
unbuilt=()

KNBENCH_LOG_NAME="fuzz/run.sh"
# shellcheck source=scripts/lib/common.sh
source "${root}/scripts/lib/common.sh"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --seconds) need_value "$@"; seconds="$2"; shift 2 ;;
    --build-dir) need_value "$@"; build_dir="$2"; shift 2 ;;
    --only) need_value "$@"; only+=("$2"); shift 2 ;;
    --components) need_value "$@"; components="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "fuzz/run.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
  echo "fuzz/run.sh: --seconds must be a positive integer, not \"$seconds\"" >&2
  exit 2
fi
clangxx="$(command -v clang++ || command -v clang++-14 || true)"
if [[ -z "$clangxx" ]]; then
  echo "fuzz/run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
components="${components//,/;}"
if [[ -z "$components" ]]; then
  for c in common worker load_driver autoscaler_model; do
    [[ -f "$root/$c/CMakeLists.txt" ]] && components+="${components:+;}$c"
  done
fi

all=(schedule_fuzz trace_fuzz flags_fuzz http_fuzz values_fuzz kpa_input_fuzz
     kpa_manifest_fuzz)
if [[ "$build" == 1 ]]; then
  echo "fuzz: configuring $build_dir ($components)" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_CXX_COMPILER="$clangxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKNBENCH_FUZZ=ON \
    -DKNBENCH_SANITIZE=ON -DKNBENCH_BUILD_TESTS=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" \
    -DKNBENCH_COMPONENTS="$components;fuzz" >"$build_dir.configure.log" 2>&1 || {
      echo "fuzz/run.sh: configure failed, see $build_dir.configure.log" >&2
      exit 1
    }
  known="$(cmake --build "$build_dir" --target help)"
  targets=()
  for t in "${all[@]}"; do
    if [[ ${#only[@]} -eq 0 || " ${only[*]} " == *" $t "* ]]; then
      # Only targets whose component configured (see fuzz/CMakeLists.txt).
      if [[ "$known" == *" $t"* ]]; then
        targets+=("$t")
      fi
    fi
  done
  if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz/run.sh: no fuzz target configured (see $build_dir.configure.log)" >&2
    exit 1
  fi
  for t in "${targets[@]}"; do
    echo "fuzz: building $t" >&2
    if ! cmake --build "$build_dir" -j2 --target "$t" \
        >"$build_dir/$t.build.log" 2>&1; then
      unbuilt+=("$t")
      echo "fuzz: $t did not build, see $build_dir/$t.build.log:" >&2
      grep -m3 'error:' "$build_dir/$t.build.log" >&2 || true
      rm -f "$build_dir/fuzz/$t"
    fi
  done
fi

status=0
ran=0
for t in "${all[@]}"; do
  if [[ ${#only[@]} -gt 0 && " ${only[*]} " != *" $t "* ]]; then continue; fi
  bin="$build_dir/fuzz/$t"
  [[ -x "$bin" ]] || continue
  seeds="$here/corpus/${t%_fuzz}"
  work="$build_dir/corpus/${t%_fuzz}"
  mkdir -p "$work" "$build_dir/artifacts"
  log="$build_dir/$t.log"
  echo "fuzz: $t for ${seconds}s" >&2
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$build_dir/artifacts/$t-" "$work" "$seeds" \
      >"$log" 2>&1; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
            grep -o '[0-9]*$' || echo '?')"
    echo "fuzz: $t ok, $runs inputs" >&2
  else
    status=1
    echo "fuzz: $t FAILED; log $log, inputs in $build_dir/artifacts/" >&2
    grep -m5 -E 'ERROR|runtime error|Assertion|SUMMARY' "$log" >&2 || true
  fi
  ran=$((ran + 1))
done
if [[ "$ran" == 0 ]]; then
  echo "fuzz/run.sh: no fuzz target was built" >&2
  exit 1
fi
if [[ ${#unbuilt[@]} -gt 0 ]]; then
  echo "fuzz: not built: ${unbuilt[*]}" >&2
  status=1
fi
exit "$status"
