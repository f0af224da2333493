#!/usr/bin/env bash
# RPS x spin-ms sweep: one load_driver run per grid point, the run's CSV and
# summary, the Prometheus series of its time window, then the analysis report.
#
# Backends: --mode MODE sources scripts/lib/MODE_mode.sh, which defines
#   backend_setup        start/check what the mode needs; sets PROM_URL if empty
#   backend_run RPS SPIN DURATION_S WARMUP_S CSV_OUT SUMMARY_OUT
#                        one driver run to completion, writes both files;
#                        returns 0 even if requests failed, non-zero if the run
#                        itself could not be done. Returns only once Prometheus
#                        holds the run's final numbers (local serving: and the
#                        revision's scale back to idle, which is part of the
#                        run's window).
#   backend_plan         (optional) check the backend's own settings without
#                        starting anything; set BACKEND_PLAN to them as
#                        key=value lines, each ending in a newline (for
#                        --dry-run and sweep.conf), and BACKEND_RUN_EXTRA_S /
#                        BACKEND_SETUP_EXTRA_S (seconds beyond the generic
#                        estimate) for the planned time
#   backend_wait_idle GAP_S
#                        before each run: return once the system under test is
#                        back at its idle state (local serving: zero pods or
#                        min-scale ready, nothing queued or in flight; fixed
#                        local pods: no call in flight at any worker; cluster:
#                        the worker's pods back at min-scale) and at least
#                        GAP_S seconds have passed
#                        since the previous run's traffic ended. Bounded by a
#                        timeout; returns non-zero (the run is then flagged)
#                        if the idle state was not reached or not observable.
#   backend_progress NAME
#                        print the latest progress line of each driver of the
#                        run in progress (NAME: its file stem), as the driver
#                        logs it ("elapsed 5.0s target ... ok N failed N
#                        dropped N ... (last 5s: N ok)"); nothing if none yet.
#                        Called from a background ticker during backend_run.
#   backend_describe     print key=value lines on the system under test for
#                        the report: system_under_test, autoscaling,
#                        autoscaling_source, pod_start_delay, worker_flags,
#                        driver_flags, and kpa_model_args (the KPA model's
#                        settings for the analysis) when the backend knows them
#   backend_teardown     stop only what backend_setup/backend_run started;
#                        idempotent (this script's trap calls it on exit)
#   backend_replay_check (optional) after teardown: one line on whether the
#                        autoscaler's live decisions equal kpa_model's replay
#                        of its recorded input (sweep.conf's replay_check)
#   BACKEND_COLLECT_MODE local|cluster, passed to collect_prometheus.sh --mode
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KNBENCH_LOG_NAME=run_experiments
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/run_experiments.sh [--mode local|cluster] [options]

Runs the RPS x spin-ms grid (spin in the outer loop, RPS in the inner one),
one load_driver run per point. Local mode runs everything on this machine:
by default the worker behind local_serving (Knative's activator, queue-proxy
and KPA autoscaler, pods scaled from zero and back), with --local-pods N
fixed worker processes and no autoscaler. It writes OUTDIR/<sweep-id>/:
  results-<rps>rps-<spin>ms.csv      the driver's per-request CSV
  summary-<rps>rps-<spin>ms.json     the driver's summary
  prometheus-<rps>rps-<spin>ms.json  collect_prometheus.sh over the run's window
  sweep.conf, runs.csv               settings and provenance; one line per run
                                     with its status (ok, over_fail_threshold,
                                     error, interrupted)
  logs/                              process logs (local mode; local serving:
                                     local_serving.log, pods/, and its
                                     replayable local_serving-stats.csv and
                                     local_serving-decisions.csv)
  plots, summary.csv, report.html    tools/analyze_plot.py (unless --no-analyze)
The sweep stops after a run whose (failure+dropped)/scheduled exceeds
FAIL_THRESHOLD.

Options (flag, environment variable, default local | cluster):
  --mode MODE            local | cluster                           [local]
  --rps-start N          RPS_START        20   | 10
  --rps-step N           RPS_STEP         90   | 40
  --rps-max N            RPS_MAX          200  | 150
  --spin-start MS        SPIN_START       10   | 100
  --spin-step MS         SPIN_STEP        90   | 300
  --spin-max MS          SPIN_MAX         100  | 1000
  --duration D           RUN_DURATION     20s  | 12m   per run, warm-up included
                         (whole seconds: 90, 90s, 12m, 1m30s)
  --warmup S             WARMUP_SECONDS   5    | 120   first seconds of each
                         run, marked warm-up by the driver (seconds or 2m form)
  --repeat N             REPEAT           1    each grid point N times (files
                         get a -r1 .. -rN suffix when N > 1); the report gives
                         the median and a 95 % bootstrap confidence interval
  --order grid|shuffled  ORDER            grid  grid: repeat by repeat, spin
                         outer, rps inner; shuffled: the whole plan in a random
                         order fixed by --seed
  --seed S               SEED             1    seed of --order shuffled
  --fail-threshold R     FAIL_THRESHOLD   0.10
  --threshold SPEC       THRESHOLDS       pass/fail criterion given to every
                         driver (repeatable; like k6: p99<200ms, send_p95<50ms,
                         failure_rate<0.01, achieved_rps>=95; see
                         docs/experiments.md); local mode only
  --stop-on-threshold                     stop the sweep after a run that
                                          violated a --threshold
  --rate-window D        RATE_WINDOW      3s   | 1m    range of rate() in the
                         collected series (whole seconds); also the least
                         pause between runs (see docs/experiments.md)
  --prom-url URL         PROM_URL         local: its own Prometheus;
                                          cluster: see docs/experiments.md
  --outdir DIR           OUTDIR           results
  --sweep-id ID          SWEEP_ID         UTC time, e.g. 20260101T120000Z
  --build-dir DIR        BUILD_DIR        <repo>/build (binaries DIR/worker/worker,
                                DIR/load_driver/load_driver,
                                DIR/local_serving/local_serving,
                                DIR/autoscaler_model/kpa_model)
                         WORKER_BIN, DRIVER_BIN, LOCAL_SERVING_BIN,
                         KPA_MODEL_BIN override the binaries' paths (without
                         kpa_model the report has no model curves)
  --local-pods N         LOCAL_PODS       local mode: N fixed worker processes,
                         no autoscaler; N drivers run at RPS/N each, one per
                         worker, and their CSVs are merged. Without it: local
                         serving. (--workers N, LOCAL_WORKERS: the same)
  --manifest FILE        KNATIVE_MANIFEST local serving's autoscaling settings:
                         the autoscaling.knative.dev annotations of this Knative
                         Service YAML [deploy/base/worker/knative-service.yaml]
  --serving-args ARGS    LOCAL_SERVING_ARGS  local_serving flags that win over
                         the manifest, split on whitespace (kpa_model's names:
                         --window, --target, --pod-start-delay, ...)
                         [--window 6s --initial-scale 0: see docs/experiments.md;
                         --serving-args '' keeps the manifest's and Knative's]
                         WORKER_ARGS, DRIVER_ARGS: extra arguments for every
                         worker (pod) / driver (local mode), split on whitespace
                         Cluster mode's environment: CLUSTER_DRIVER_PODS (1;
                         above 1, an Indexed Job of N driver pods at RPS/N,
                         each with Poisson arrivals seeded by its index, so
                         that N uniform schedules do not fire in lockstep),
                         CLUSTER_LINGER, CLUSTER_NAMESPACE, CLUSTER_SERVICE,
                         KUBECTL, PROM_NAMESPACE, PROM_SERVICE (docs/deploy.md)
  --no-analyze                            skip tools/analyze_plot.py
  --dry-run                               print the resolved settings and
                                          the grid, start nothing
  -h, --help                              this help
A flag wins over its environment variable, which wins over the default.
EOF
}

# --- arguments ---------------------------------------------------------------
MODE="local"
ANALYZE=1
STOP_ON_THRESHOLD=0
DRY_RUN=0
declare -A FLAG=()     # setting -> value given by a flag
declare -A FLAG_NAME=() # setting -> the flag as the user spelled it

need_value() { [[ $# -ge 2 ]] || die "$1 needs a value (see --help)"; }
# set_flag NAME FLAG VALUE
set_flag() {
  FLAG[$1]="$3"
  FLAG_NAME[$1]="$2"
}

while [[ $# -gt 0 ]]; do
  arg="$1"
  if [[ "$arg" == --*=* ]]; then
    set -- "${arg%%=*}" "${arg#*=}" "${@:2}"
    arg="$1"
  fi
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --mode) need_value "$@"; MODE="$2"; shift 2 ;;
    --rps-start) need_value "$@"; set_flag RPS_START "$1" "$2"; shift 2 ;;
    --rps-step) need_value "$@"; set_flag RPS_STEP "$1" "$2"; shift 2 ;;
    --rps-max) need_value "$@"; set_flag RPS_MAX "$1" "$2"; shift 2 ;;
    --spin-start) need_value "$@"; set_flag SPIN_START "$1" "$2"; shift 2 ;;
    --spin-step) need_value "$@"; set_flag SPIN_STEP "$1" "$2"; shift 2 ;;
    --spin-max) need_value "$@"; set_flag SPIN_MAX "$1" "$2"; shift 2 ;;
    --duration) need_value "$@"; set_flag RUN_DURATION "$1" "$2"; shift 2 ;;
    --warmup) need_value "$@"; set_flag WARMUP_SECONDS "$1" "$2"; shift 2 ;;
    --fail-threshold) need_value "$@"; set_flag FAIL_THRESHOLD "$1" "$2"; shift 2 ;;
    --repeat) need_value "$@"; set_flag REPEAT "$1" "$2"; shift 2 ;;
    --order) need_value "$@"; set_flag ORDER "$1" "$2"; shift 2 ;;
    --seed) need_value "$@"; set_flag SEED "$1" "$2"; shift 2 ;;
    --rate-window) need_value "$@"; set_flag RATE_WINDOW "$1" "$2"; shift 2 ;;
    --threshold) need_value "$@"; set_flag THRESHOLDS "$1" "${FLAG[THRESHOLDS]:+${FLAG[THRESHOLDS]},}$2"; shift 2 ;;
    --stop-on-threshold) STOP_ON_THRESHOLD=1; shift ;;
    --prom-url) need_value "$@"; set_flag PROM_URL "$1" "$2"; shift 2 ;;
    --outdir) need_value "$@"; set_flag OUTDIR "$1" "$2"; shift 2 ;;
    --sweep-id) need_value "$@"; set_flag SWEEP_ID "$1" "$2"; shift 2 ;;
    --build-dir) need_value "$@"; set_flag BUILD_DIR "$1" "$2"; shift 2 ;;
    --local-pods | --workers) need_value "$@"; set_flag LOCAL_PODS "$1" "$2"; shift 2 ;;
    --manifest) need_value "$@"; set_flag KNATIVE_MANIFEST "$1" "$2"; shift 2 ;;
    --serving-args) need_value "$@"; set_flag LOCAL_SERVING_ARGS "$1" "$2"; shift 2 ;;
    --no-analyze) ANALYZE=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done
# LOCAL_WORKERS is the older name of LOCAL_PODS.
if [[ -z "${LOCAL_PODS:-}" && -n "${LOCAL_WORKERS:-}" ]]; then
  LOCAL_PODS="$LOCAL_WORKERS"
  # shellcheck disable=SC2034  # read through ${!env_alias} below
  ENV_NAME_LOCAL_PODS=LOCAL_WORKERS
fi

case "$MODE" in
  local)
    # The quick start: 6 runs of 20 s, long enough to see the pods follow the
    # load once a cold start's panic is over (docs/experiments.md).
    declare -A DEFAULT=([RPS_START]=20 [RPS_STEP]=90 [RPS_MAX]=200 [SPIN_START]=10
      [SPIN_STEP]=90 [SPIN_MAX]=100 [RUN_DURATION]=20s [WARMUP_SECONDS]=5 [RATE_WINDOW]=3s)
    ;;
  cluster)
    # The original project's sweep.
    declare -A DEFAULT=([RPS_START]=10 [RPS_STEP]=40 [RPS_MAX]=150 [SPIN_START]=100
      [SPIN_STEP]=300 [SPIN_MAX]=1000 [RUN_DURATION]=12m [WARMUP_SECONDS]=120 [RATE_WINDOW]=1m)
    ;;
  *) die "--mode must be local or cluster, got '${MODE}'" ;;
esac
DEFAULT[FAIL_THRESHOLD]=0.10
DEFAULT[REPEAT]=1
DEFAULT[THRESHOLDS]=""
DEFAULT[ORDER]=grid
DEFAULT[SEED]=1
DEFAULT[PROM_URL]=""
DEFAULT[OUTDIR]=results
DEFAULT[SWEEP_ID]="$(date -u +%Y%m%dT%H%M%SZ)"
DEFAULT[BUILD_DIR]="${ROOT}/build"
DEFAULT[LOCAL_PODS]=""
DEFAULT[KNATIVE_MANIFEST]="${ROOT}/deploy/base/worker/knative-service.yaml"
# Local serving's settings: the manifest's, with a 6 s stable window (Knative's
# least; 60 s by default) so that a 20 s run scales up and back down within a
# few seconds of its end, and a revision that starts at zero, as a deployed
# one that already scaled to zero (docs/experiments.md, "Local serving").
DEFAULT[LOCAL_SERVING_ARGS]="--window 6s --initial-scale 0"
# The flag each setting is spelled with in --help (for messages about defaults).
declare -A CANON=([RPS_START]=--rps-start [RPS_STEP]=--rps-step [RPS_MAX]=--rps-max
  [SPIN_START]=--spin-start [SPIN_STEP]=--spin-step [SPIN_MAX]=--spin-max
  [RUN_DURATION]=--duration [WARMUP_SECONDS]=--warmup [RATE_WINDOW]=--rate-window
  [FAIL_THRESHOLD]=--fail-threshold [REPEAT]=--repeat [THRESHOLDS]=--threshold [ORDER]=--order
  [SEED]=--seed [PROM_URL]=--prom-url [OUTDIR]=--outdir [SWEEP_ID]=--sweep-id
  [BUILD_DIR]=--build-dir [LOCAL_PODS]=--local-pods [KNATIVE_MANIFEST]=--manifest
  [LOCAL_SERVING_ARGS]=--serving-args)

# flag > environment > default. FLAG_NAME ends up naming where each value
# came from, so that an error names what the user actually wrote.
for name in "${!DEFAULT[@]}"; do
  if [[ -n "${FLAG[$name]+set}" ]]; then
    printf -v "$name" '%s' "${FLAG[$name]}"
  elif [[ -n "${!name:-}" ]]; then
    env_alias="ENV_NAME_${name}"
    FLAG_NAME[$name]="${!env_alias:-$name}" # keep the environment's value
  else
    printf -v "$name" '%s' "${DEFAULT[$name]}"
    FLAG_NAME[$name]="${CANON[$name]}"
  fi
done
# what NAME: the flag or variable that set NAME.
what() { echo "${FLAG_NAME[$1]:-$1}"; }

# Bounds: the driver's and the worker's own limits, checked here so that
# --dry-run catches them, not the first driver run.
MAX_RPS=10000000   # load_driver --rps
MAX_SPIN_MS=600000 # load_driver --spin-ms and the worker's --max-duration-ms
for name in RPS_START RPS_STEP RPS_MAX; do
  posint_at_most "${!name}" "$MAX_RPS" ||
    die "$(what "$name") must be a whole number of requests/s from 1 to ${MAX_RPS}, got '${!name}'"
done
for name in SPIN_START SPIN_STEP SPIN_MAX; do
  posint_at_most "${!name}" "$MAX_SPIN_MS" ||
    die "$(what "$name") must be a whole number of ms from 1 to ${MAX_SPIN_MS}, got '${!name}'"
done
posint_at_most "$REPEAT" 1000 ||
  die "$(what REPEAT) must be a whole number from 1 to 1000, got '${REPEAT}'"
if [[ -n "$LOCAL_PODS" ]]; then
  posint_at_most "$LOCAL_PODS" 64 ||
    die "$(what LOCAL_PODS) must be a whole number of worker processes from 1 to 64, got '${LOCAL_PODS}'"
fi
if [[ "$MODE" != local ]]; then
  for name in LOCAL_PODS KNATIVE_MANIFEST LOCAL_SERVING_ARGS; do
    [[ -z "${FLAG[$name]+set}" ]] || die "$(what "$name") is local-mode only"
  done
fi
# Specs hold no spaces; commas or spaces separate them in THRESHOLDS.
THRESHOLDS="$(tr ' ' ',' <<<"$THRESHOLDS" | sed 's/,,*/,/g; s/^,//; s/,$//')"
if [[ -n "$THRESHOLDS" && "$MODE" != local ]]; then
  die "--threshold is local-mode only: the cluster driver Job templates (deploy/sweep) pass no --threshold"
fi
if ((STOP_ON_THRESHOLD)) && [[ -z "$THRESHOLDS" ]]; then
  die "--stop-on-threshold needs at least one --threshold"
fi
[[ "$ORDER" == grid || "$ORDER" == shuffled ]] || die "$(what ORDER) must be grid or shuffled, got '${ORDER}'"
uint_at_most "$SEED" 4294967295 || die "$(what SEED) must be a whole number from 0 to 4294967295, got '${SEED}'"
((RPS_START <= RPS_MAX)) || die "$(what RPS_START) (${RPS_START}) is above $(what RPS_MAX) (${RPS_MAX})"
((SPIN_START <= SPIN_MAX)) || die "$(what SPIN_START) (${SPIN_START}) is above $(what SPIN_MAX) (${SPIN_MAX})"
if [[ "$MODE" == local && -n "$LOCAL_PODS" ]] && ((RPS_START < LOCAL_PODS)); then
  die "$(what RPS_START) (${RPS_START}) is below $(what LOCAL_PODS) (${LOCAL_PODS}): each worker's driver needs at least 1 request/s"
fi
MAX_DURATION_S=$((168 * 3600)) # load_driver --duration
# shellcheck disable=SC2015  # die exits
DURATION_S="$(duration_seconds "$RUN_DURATION")" && ((DURATION_S > 0 && DURATION_S <= MAX_DURATION_S)) ||
  die "$(what RUN_DURATION) must be a whole-second duration from 1s to 168h (90, 90s, 12m, 1m30s), got '${RUN_DURATION}'"
# shellcheck disable=SC2015  # die exits
WARMUP_S="$(duration_seconds "$WARMUP_SECONDS")" && ((WARMUP_S <= MAX_DURATION_S)) ||
  die "$(what WARMUP_SECONDS) must be whole seconds (120 or 2m), got '${WARMUP_SECONDS}'"
((WARMUP_S < DURATION_S)) ||
  die "the warm-up (${WARMUP_S}s, $(what WARMUP_SECONDS)) must be shorter than the run (${DURATION_S}s, $(what RUN_DURATION))"
# shellcheck disable=SC2015,SC2153  # die exits; RATE_WINDOW is set by the loop above
RATE_WINDOW_S="$(duration_seconds "$RATE_WINDOW")" && ((RATE_WINDOW_S > 0 && RATE_WINDOW_S <= 86400)) ||
  die "$(what RATE_WINDOW) must be a whole-second duration from 1s to 24h (3s, 1m), got '${RATE_WINDOW}'"
# shellcheck disable=SC2015  # die exits
is_number "$FAIL_THRESHOLD" && awk -v t="$FAIL_THRESHOLD" 'BEGIN { exit !(t <= 1) }' ||
  die "$(what FAIL_THRESHOLD) must be a ratio between 0 and 1, got '${FAIL_THRESHOLD}'"
# shellcheck disable=SC2153  # set by the flag/env/default loop
[[ "$SWEEP_ID" =~ ^[A-Za-z0-9._-]+$ ]] ||
  die "$(what SWEEP_ID) may hold only letters, digits, '.', '_' and '-', got '${SWEEP_ID}'"
# The plan's size, before seq writes it out: a typo such as --rps-step 1 on a
# 10-million range must not take minutes and gigabytes to refuse.
TOTAL=$(((SPIN_MAX - SPIN_START) / SPIN_STEP + 1))
TOTAL=$((TOTAL * ((RPS_MAX - RPS_START) / RPS_STEP + 1) * REPEAT))
((TOTAL <= 10000)) ||
  die "the plan has ${TOTAL} runs (rates x spins x repeats); more than 10000 is surely a mistake: raise a step"

WORKER_BIN="${WORKER_BIN:-${BUILD_DIR}/worker/worker}"
DRIVER_BIN="${DRIVER_BIN:-${BUILD_DIR}/load_driver/load_driver}"
KPA_MODEL_BIN="${KPA_MODEL_BIN:-${BUILD_DIR}/autoscaler_model/kpa_model}"
LOCAL_SERVING_BIN="${LOCAL_SERVING_BIN:-${BUILD_DIR}/local_serving/local_serving}"
SWEEP_DIR="${OUTDIR}/${SWEEP_ID}"
SPINS=()
while IFS= read -r v; do SPINS+=("$v"); done < <(seq "$SPIN_START" "$SPIN_STEP" "$SPIN_MAX")
RPSS=()
while IFS= read -r v; do RPSS+=("$v"); done < <(seq "$RPS_START" "$RPS_STEP" "$RPS_MAX")

# The plan: one "spin rps repeat" line per run, in the order they run. Grid:
# repeat by repeat (so slow drift of the machine spreads over every point),
# spin outer, rps inner, like the original. Shuffled: the same lines in an
# order fixed by the seed (Python's random.Random(seed).shuffle).
PLAN=()
for ((rep = 1; rep <= REPEAT; rep++)); do
  for spin in "${SPINS[@]}"; do
    for rps in "${RPSS[@]}"; do
      PLAN+=("${spin} ${rps} ${rep}")
    done
  done
done
if [[ "$ORDER" == shuffled ]]; then
  mapfile -t PLAN < <(printf '%s\n' "${PLAN[@]}" | "$PY" -c '
import random, sys
lines = sys.stdin.read().splitlines()
random.Random(int(sys.argv[1])).shuffle(lines)
print("\n".join(lines))' "$SEED")
fi
# run_name SPIN RPS REPEAT: the file names' common part.
run_name() {
  if ((REPEAT > 1)); then echo "${2}rps-${1}ms-r${3}"; else echo "${2}rps-${1}ms"; fi
}

settings() {
  echo "mode=${MODE}"
  echo "rps=${RPSS[*]}"
  echo "spin_ms=${SPINS[*]}"
  echo "runs=${TOTAL}"
  echo "repeat=${REPEAT}"
  echo "order=${ORDER}"
  echo "seed=${SEED}"
  echo "run_duration_s=${DURATION_S}"
  echo "warmup_s=${WARMUP_S}"
  echo "fail_threshold=${FAIL_THRESHOLD}"
  echo "thresholds=${THRESHOLDS}"
  echo "stop_on_threshold=${STOP_ON_THRESHOLD}"
  echo "rate_window_s=${RATE_WINDOW_S}"
  echo "sweep_dir=${SWEEP_DIR}"
  printf '%s' "$BACKEND_PLAN"
}

# hms SECONDS -> 1h02m03s / 2m03s / 45s
hms() {
  local t="$1"
  if ((t >= 3600)); then
    printf '%dh%02dm%02ds' $((t / 3600)) $((t % 3600 / 60)) $((t % 60))
  elif ((t >= 60)); then
    printf '%dm%02ds' $((t / 60)) $((t % 60))
  else
    printf '%ds' "$t"
  fi
}
BACKEND="${ROOT}/scripts/lib/${MODE}_mode.sh"
[[ -f "$BACKEND" ]] || die "${MODE} mode is not available: ${BACKEND} is missing"
# Sourcing a backend starts nothing.
# shellcheck source=scripts/lib/local_mode.sh
source "$BACKEND"
for fn in backend_setup backend_wait_idle backend_run backend_progress backend_describe \
  backend_teardown; do
  declare -F "$fn" >/dev/null || die "${BACKEND} does not define ${fn}"
done
[[ -n "${BACKEND_COLLECT_MODE:-}" ]] || die "${BACKEND} does not set BACKEND_COLLECT_MODE"
# The backend's own settings, checked (local serving: local_serving
# --check-config) and recorded.
BACKEND_PLAN=""
BACKEND_RUN_EXTRA_S=0
BACKEND_SETUP_EXTRA_S=0
if declare -F backend_plan >/dev/null; then backend_plan; fi

# What a run costs beyond its duration, estimated (docs/experiments.md):
# local: the idle wait (rate window + one scrape), the final scrape, the
# collection, and what the backend adds (local serving: the scale back to
# idle after each run); cluster: the driver Job's start (~30 s), the final
# 15 s scrape, and the wait for the pods to be idle again (stable window 60 s
# + the KPA's scale-to-zero grace 30 s).
if [[ "$MODE" == local ]]; then
  OVERHEAD_S=$((RATE_WINDOW_S + 3 + BACKEND_RUN_EXTRA_S))
  SETUP_S=$((5 + BACKEND_SETUP_EXTRA_S))
else
  OVERHEAD_S=$((30 + 15 + (RATE_WINDOW_S > 60 ? RATE_WINDOW_S : 60) + 30))
  SETUP_S=10
fi
PLANNED_S=$((SETUP_S + TOTAL * (DURATION_S + OVERHEAD_S)))
planned_time() {
  echo "planned_time=$(hms "$PLANNED_S") (${TOTAL} runs x ${DURATION_S}s of load = $(hms $((TOTAL * DURATION_S))), plus about $(hms "$OVERHEAD_S") per run between runs and $(hms "$SETUP_S") of setup; the analysis comes after)"
}

if ((DRY_RUN)); then
  settings
  echo "prom_url=${PROM_URL}"
  planned_time
  for ((j = 0; j < ${#PLAN[@]}; j++)); do
    read -r spin rps rep <<<"${PLAN[$j]}"
    echo "plan $((j + 1))/${TOTAL} rps=${rps} spin=${spin}ms repeat=${rep} files=*-$(run_name "$spin" "$rps" "$rep").*"
  done
  exit 0
fi

COLLECT="${ROOT}/scripts/collect_prometheus.sh"
[[ -x "$COLLECT" ]] || die "${COLLECT} is missing or not executable"
if ((ANALYZE)); then
  [[ -f "${ROOT}/tools/analyze_plot.py" ]] ||
    die "tools/analyze_plot.py is missing (or pass --no-analyze)"
fi
if [[ -d "$SWEEP_DIR" ]] && [[ -n "$(ls -A "$SWEEP_DIR" 2>/dev/null)" ]]; then
  if compgen -G "${SWEEP_DIR}/results-*.csv" >/dev/null; then
    die "${SWEEP_DIR} already holds results; choose another $(what SWEEP_ID) or $(what OUTDIR)"
  fi
  die "${SWEEP_DIR} is not empty (it holds no results: remove it), or choose another $(what SWEEP_ID) or $(what OUTDIR)"
fi
SWEEP_DIR_EXISTED=0
[[ -d "$SWEEP_DIR" ]] && SWEEP_DIR_EXISTED=1
if ! err="$(mkdir -p "${SWEEP_DIR}/logs" 2>&1)"; then
  die "cannot create the sweep directory ${SWEEP_DIR} ($(what OUTDIR)): ${err##*: }"
fi
[[ -w "$SWEEP_DIR" && -w "${SWEEP_DIR}/logs" ]] ||
  die "cannot write to the sweep directory ${SWEEP_DIR} ($(what OUTDIR))"
SWEEP_DIR="$(cd "$SWEEP_DIR" && pwd)"

export WORKER_BIN DRIVER_BIN THRESHOLDS
LOCAL_LOG_DIR="${SWEEP_DIR}/logs"

# provenance: what ran, for the report's header (docs/analysis.md).
provenance() {
  local commit
  echo "kit_version=$(sed -n 's/^project([^ ]* VERSION \([0-9.]*\).*/\1/p' "${ROOT}/CMakeLists.txt" | head -n 1)"
  if commit="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null)"; then
    git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || commit+="-dirty"
  else
    commit=unknown
  fi
  echo "commit=${commit}"
  echo "started_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host=$(hostname)"
  echo "host_cores=$(nproc)"
  echo "host_cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
  echo "schedule=constant rate for ${DURATION_S} s per run"
  echo "warmup_rule=the driver marks the first ${WARMUP_S} s of each run as warm-up"
}

# conf_set: key=value lines on stdin go into sweep.conf, which holds each key
# once: a key already there has its line replaced in place, a new one is
# appended. The file is replaced atomically, so a sweep killed at any moment
# leaves the old or the new version, never half of one.
conf_set() {
  local f="${SWEEP_DIR}/sweep.conf"
  [[ -f "$f" ]] || : >"$f"
  awk 'FNR == NR {
         i = index($0, "=")
         if (i) { k = substr($0, 1, i - 1); if (!(k in v)) order[++n] = k; v[k] = $0 }
         next
       }
       {
         i = index($0, "="); k = i ? substr($0, 1, i - 1) : ""
         if (k in v) { if (!(k in done)) print v[k]; done[k] = 1 } else print
       }
       END { for (j = 1; j <= n; j++) if (!(order[j] in done)) print v[order[j]] }' \
    /dev/stdin "$f" >"${f}.tmp" && mv -f -- "${f}.tmp" "$f"
}

# runs.csv: one line per run that started, with how it ended.
RUNS_CSV="${SWEEP_DIR}/runs.csv"
CURRENT="" # "index,repeat,rps,spin,name,idle,launch" of the run in progress
record_run() { # record_run STATUS START END COLLECT
  echo "${CURRENT},$1,$2,$3,$4" >>"$RUNS_CSV"
  CURRENT=""
}

TICKER_PID="" # the progress ticker of the run in progress (below)
stop_ticker() {
  if [[ -n "$TICKER_PID" ]]; then
    kill "$TICKER_PID" 2>/dev/null || true
    wait "$TICKER_PID" 2>/dev/null || true
    TICKER_PID=""
    if [[ -t 1 ]]; then printf '\r\033[K'; fi
  fi
}

# A sweep that fails before its first run leaves nothing behind, so that the
# same --sweep-id can be used again at once: what it created is only its
# settings and the start-up logs (whose last lines were shown already).
forget_failed_start() {
  rm -rf -- "${SWEEP_DIR}/logs" "${SWEEP_DIR}/sweep.conf" "${SWEEP_DIR}/runs.csv"
  if ((!SWEEP_DIR_EXISTED)); then rmdir -- "$SWEEP_DIR" 2>/dev/null || true; fi
  log "removed ${SWEEP_DIR}: the sweep ended before its first run"
}

TORN_DOWN=0
FINISHED=0
RUNS_STARTED=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_ticker
  if [[ -n "$CURRENT" ]]; then
    record_run "$( ((rc == 130 || rc == 143)) && echo interrupted || echo error)" "" "" ""
  fi
  if ((!TORN_DOWN)); then
    TORN_DOWN=1
    backend_teardown || log "teardown reported an error"
  fi
  if ((!FINISHED)); then
    if ((RUNS_STARTED == 0 && rc != 0)); then
      forget_failed_start
    elif [[ -f "${SWEEP_DIR}/sweep.conf" ]]; then
      # "running" (written at the start) becomes partial.
      local why="failed (exit ${rc})"
      ((rc == 130)) && why="interrupted (SIGINT)"
      ((rc == 143)) && why="terminated (SIGTERM)"
      printf '%s\n' "status=partial" "partial_because=${why} after ${RUNS_STARTED} of ${TOTAL} runs started" \
        "ended_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)" | conf_set 2>/dev/null || true
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted; stopping what this sweep started"; exit 130' INT
trap 'log "terminated; stopping what this sweep started"; exit 143' TERM

# sweep.conf's status changes from running to complete, stopped or partial
# (a sweep killed with SIGKILL stays "running" and has no finished_utc).
{
  settings
  provenance
  echo "status=running"
} | conf_set
echo "index,repeat,rps,spin_ms,name,idle,launch,status,start,end,collect" >"$RUNS_CSV"
log "sweep ${SWEEP_ID}: ${TOTAL} runs (${MODE} mode) -> ${SWEEP_DIR}; $(planned_time | sed 's/^planned_time=/planned time /')"
backend_setup
DESCRIBED="$(backend_describe)"
conf_set <<<"prom_url=${PROM_URL}"$'\n'"${DESCRIBED}"
KPA_ARGS="$(sed -n 's/^kpa_model_args=//p' <<<"$DESCRIBED" | tail -n 1)"
if [[ -z "$KPA_ARGS" ]]; then
  # Cluster mode models the base manifest (KNATIVE_MANIFEST is local-mode's).
  KPA_ARGS="--from-manifest ${KNATIVE_MANIFEST}"
  [[ "$MODE" == local ]] || KPA_ARGS="--from-manifest ${ROOT}/deploy/base/worker/knative-service.yaml"
fi

# run_stats SUMMARY THRESHOLD -> "ok failed scheduled p95 ratio exceeded violated"
# (violated: the --threshold specs a driver reported as violated, comma-
# separated, or "-"; with several drivers each judged its own share)
run_stats() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
sched = int(s["scheduled"])
failed = int(s["failure"]) + int(s["dropped"])
ratio = failed / sched if sched else 1.0
p95 = (s.get("latency_ms") or {}).get("p95")
p95 = "n/a" if p95 is None else "%.1fms" % float(p95)
violated = []
for d in [s] + list(s.get("drivers") or []):
    for t in d.get("thresholds") or []:
        if not t.get("ok") and t.get("spec") not in violated:
            violated.append(t.get("spec"))
print(int(s["success"]), failed, sched, p95, "%.4f" % ratio,
      1 if ratio > float(sys.argv[2]) else 0, ",".join(violated) or "-")
EOF
}

# run_start CSV LAUNCH END: the run's first intended send (epoch seconds),
# from the CSV; LAUNCH (when the backend was asked to start the run) when
# the CSV's clock disagrees with ours (not inside [LAUNCH - 60, END]).
run_start() {
  awk -F, -v launch="$2" -v end="$3" '
    NR > 1 && $1 ~ /^[0-9]+$/ && (min == "" || $1 + 0 < min) { min = $1 + 0 }
    END {
      t = min / 1000
      if (min == "" || t < launch - 60 || t > end) { printf "%s\n", launch } else { printf "%.3f\n", t }
    }' "$1"
}

# The live progress line of the run in progress, from its drivers' own
# progress lines (backend_progress), with the sweep's elapsed time and ETA. On
# a terminal one line is rewritten in place; otherwise a line is printed each
# time the drivers report. Runs in the background during backend_run.
SWEEP_T0=$SECONDS
progress_ticker() { # progress_ticker INDEX NAME RPS SPIN DONE_RUNS_S DONE_RUNS
  local i="$1" name="$2" rps="$3" spin="$4" done_s="$5" done_n="$6" run_t0=$SECONDS
  local last="" line per_run eta
  set +e
  per_run=$((DURATION_S + OVERHEAD_S))
  ((done_n > 0)) && per_run=$((done_s / done_n))
  # A subshell has no parent-death signal: it ends itself once the sweep
  # ($$, even in a subshell) is gone, e.g. killed with SIGKILL.
  while pid_alive "$$"; do
    sleep 1
    line="$(backend_progress "$name" 2>/dev/null | awk '
      { for (k = 1; k < NF; k++) {
          if ($k == "elapsed") { e = $(k + 1) + 0; if (e > el) el = e }
          if ($k == "ok") ok += $(k + 1)
          if ($k == "failed") failed += $(k + 1)
          if ($k == "dropped") failed += $(k + 1)
          if ($k == "(last") { iv = $(k + 1) + 0; n = $(k + 2) + 0; if (iv > 0) rate += n / iv }
        }
        seen = 1 }
      END { if (seen) printf "%.1f %.1f %d %d\n", el, rate, ok, failed }')"
    [[ -n "$line" && "$line" != "$last" ]] || continue
    last="$line"
    read -r el rate ok failed <<<"$line"
    eta=$((per_run * (TOTAL - i) + per_run - (SECONDS - run_t0)))
    ((eta < 0)) && eta=0
    printf -v line 'progress run %d/%d rps=%s spin=%sms: %ss of %ss, %s ok/s, %d ok, %d failed | sweep %s, ETA %s' \
      "$i" "$TOTAL" "$rps" "$spin" "$el" "$DURATION_S" "$rate" "$ok" "$failed" \
      "$(hms $((SECONDS - SWEEP_T0)))" "$(hms "$eta")"
    if [[ -t 1 ]]; then printf '\r\033[K%s' "$line"; else echo "$line"; fi
  done
}

i=0
DONE_S=0
COLLECT_FAILURES=0
STOPPED=""
for entry in "${PLAN[@]}"; do
  read -r spin rps rep <<<"$entry"
  i=$((i + 1))
  name="$(run_name "$spin" "$rps" "$rep")"
  csv="${SWEEP_DIR}/results-${name}.csv"
  summary="${SWEEP_DIR}/summary-${name}.json"
  prom="${SWEEP_DIR}/prometheus-${name}.json"
  # No run starts on its predecessor's traffic (docs/experiments.md, "Isolation").
  idle_from=$SECONDS
  idle=yes
  if ! backend_wait_idle "$RATE_WINDOW_S"; then
    idle=no
    warn "run ${i}/${TOTAL} (${name}) starts without the idle state confirmed; it is flagged in the report"
  fi
  log "run ${i}/${TOTAL}: rps=${rps} spin=${spin}ms$( ((REPEAT > 1)) && echo " repeat ${rep}/${REPEAT}") for ${DURATION_S}s (${WARMUP_S}s warm-up; waited $((SECONDS - idle_from))s for idle)"
  launch="$(date +%s.%3N)"
  CURRENT="${i},${rep},${rps},${spin},${name},${idle},${launch}"
  RUNS_STARTED=$((RUNS_STARTED + 1))
  progress_ticker "$i" "$name" "$rps" "$spin" "$DONE_S" $((i - 1)) &
  TICKER_PID=$!
  if ! backend_run "$rps" "$spin" "$DURATION_S" "$WARMUP_S" "$csv" "$summary"; then
    stop_ticker
    die "run ${i}/${TOTAL} (${name}) could not be completed; see ${SWEEP_DIR}/logs"
  fi
  stop_ticker
  # The window ends after the final scrape backend_run waited for and starts
  # at the run's first intended send.
  end="$(date +%s.%3N)"
  start="$(run_start "$csv" "$launch" "$end")"
  collected=ok
  if ! setpriv --pdeathsig TERM "$COLLECT" "$PROM_URL" "$start" "$end" "$prom" --mode "$BACKEND_COLLECT_MODE" \
    --rate-window "${RATE_WINDOW_S}s" >"${SWEEP_DIR}/logs/collect-${name}.log" 2>&1; then
    COLLECT_FAILURES=$((COLLECT_FAILURES + 1))
    collected=failed
    warn "collect_prometheus.sh failed for ${name}: $(tail -n 1 "${SWEEP_DIR}/logs/collect-${name}.log")"
  fi
  read -r ok failed sched p95 ratio exceeded violated < <(run_stats "$summary" "$FAIL_THRESHOLD") ||
    die "cannot read ${summary}"
  echo "run ${i}/${TOTAL} rps=${rps} spin=${spin}ms ok=${ok} failed=${failed} p95=${p95}$(
    [[ "$violated" == - ]] || echo " thresholds violated: ${violated}")"
  DONE_S=$((SECONDS - SWEEP_T0))
  if ((exceeded)); then
    record_run over_fail_threshold "$start" "$end" "$collected"
    STOPPED="run ${i}/${TOTAL} (${name}) failed ${failed} of ${sched} requests (ratio ${ratio} > FAIL_THRESHOLD ${FAIL_THRESHOLD})"
    log "stopping the sweep: ${STOPPED}"
    break
  fi
  if [[ "$violated" != - ]] && ((STOP_ON_THRESHOLD)); then
    record_run threshold "$start" "$end" "$collected"
    STOPPED="run ${i}/${TOTAL} (${name}) violated --threshold ${violated}"
    log "stopping the sweep (--stop-on-threshold): ${STOPPED}"
    break
  fi
  record_run ok "$start" "$end" "$collected"
done

# Nothing left to measure: stop the processes before the analysis.
TORN_DOWN=1
backend_teardown
# Local serving: its live decisions against kpa_model's replay of its stats.
if declare -F backend_replay_check >/dev/null; then
  replay="$(backend_replay_check)"
  if [[ -n "$replay" ]]; then
    log "live vs replayed decisions: ${replay}"
    conf_set <<<"replay_check=${replay}"
  fi
fi

FINISHED=1
if [[ -n "$STOPPED" ]]; then
  echo "sweep stopped early: ${STOPPED}"
  printf '%s\n' "status=stopped" "stopped_at=${i}" "stopped_because=${STOPPED}" | conf_set
else
  conf_set <<<"status=complete"
fi
conf_set <<<"finished_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
if ((ANALYZE)); then
  log "analysing ${SWEEP_DIR}"
  analyze_args=("$SWEEP_DIR")
  # The KPA model's pods for each run, drawn next to the measured pods: with
  # the settings the backend ran (local serving: its manifest and overrides),
  # else the manifest's (fixed pods: what Knative would have done).
  if [[ -x "$KPA_MODEL_BIN" ]]; then
    analyze_args+=(--kpa-model "$KPA_MODEL_BIN" "--kpa-args=${KPA_ARGS}")
  fi
  setpriv --pdeathsig TERM "$PY" "${ROOT}/tools/analyze_plot.py" "${analyze_args[@]}" >"${SWEEP_DIR}/logs/analyze.log" 2>&1 || {
    tail -n 20 "${SWEEP_DIR}/logs/analyze.log" >&2
    die "tools/analyze_plot.py failed; see ${SWEEP_DIR}/logs/analyze.log"
  }
fi
echo "results: ${SWEEP_DIR} (${i} of ${TOTAL} runs)"
if ((ANALYZE)); then
  echo "report: ${SWEEP_DIR}/report.html"
fi
if ((COLLECT_FAILURES)); then
  die "${COLLECT_FAILURES} run(s) have no Prometheus series; see ${SWEEP_DIR}/logs/collect-*.log"
fi
