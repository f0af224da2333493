# shellcheck shell=bash
# Local backend for run_experiments.sh: everything runs as local processes on
# loopback, with a real Prometheus server scraping every 1 s and one
# `load_driver` run per grid point. Two systems under test:
#
#   local serving (the default): one `local_serving` for the whole sweep —
#     Knative's activator, queue-proxies and KPA autoscaler on this machine,
#     pods that are processes of the real `worker` scaled from zero and back
#     (docs/local_serving.md). Its autoscaling settings come from a Knative
#     Service YAML (--from-manifest), then LOCAL_SERVING_ARGS. Each run's one
#     driver sends to its --listen address. Prometheus scrapes local_serving's
#     metrics port (job="local_serving": Knative's autoscaler_* series) and
#     the pods through the file_sd list local_serving keeps (job="worker").
#   fixed pods (LOCAL_PODS=N): N `worker` processes, no autoscaler; N drivers
#     per run at rps/N each, driver i aimed at worker i.
#
# Interface (see run_experiments.sh): backend_plan, backend_setup,
# backend_wait_idle, backend_run, backend_progress, backend_describe,
# backend_teardown, BACKEND_COLLECT_MODE.
#
# Inputs (environment / variables set by the caller before backend_setup):
#   WORKER_BIN, DRIVER_BIN   the binaries (required)
#   LOCAL_PODS               empty: local serving; N: N fixed worker processes
#                            (LOCAL_WORKERS is read when LOCAL_PODS is unset)
#   LOCAL_SERVING_BIN        local serving's binary (required without LOCAL_PODS)
#   KNATIVE_MANIFEST         the Knative Service YAML local_serving reads
#                            (default deploy/base/worker/knative-service.yaml)
#   LOCAL_SERVING_ARGS       more local_serving flags (autoscaling settings,
#                            --pod-start-delay, ...), split on whitespace; they
#                            win over the manifest
#   KPA_MODEL_BIN            kpa_model, to tell which of LOCAL_SERVING_ARGS it
#                            shares (describe's kpa_model_args); optional
#   WORKER_ARGS, DRIVER_ARGS extra arguments, split on whitespace, for every
#                            worker (pod) / driver
#   THRESHOLDS               comma-separated --threshold specs for every driver
#   LOCAL_LOG_DIR            where process logs go (default: the temp dir,
#                            removed at teardown)
#   LOCAL_LINGER_SECONDS     upper bound on how long a finished driver keeps
#                            serving /metrics for the final scrape (default 30;
#                            it is stopped as soon as the scrape happened)
#   LOCAL_IDLE_TIMEOUT       seconds backend_wait_idle (and local serving's
#                            scale-down after a run) waits at most (default:
#                            fixed 60; serving stable window + scale-to-zero
#                            grace + 60)
#   PROM_URL                 set by backend_setup to the local Prometheus
#
# Signals: every process is started with `spawn` (common.sh): in its own
# session, so a terminal's Ctrl-C reaches only the sweep, whose trap stops
# each process with ONE SIGTERM (the binaries treat a second signal as "exit
# now, write nothing", so a group-wide SIGINT followed by our SIGTERM would
# lose the interrupted run); and with a parent-death signal, so nothing
# outlives a sweep killed with SIGKILL. local_serving's pods get SIGKILL from
# the kernel when local_serving dies.

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# shellcheck disable=SC2034  # read by the caller
BACKEND_COLLECT_MODE=local

_LOCAL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_LOCAL_TMP=""
_LOCAL_PIDS=()   # every process backend_setup/backend_run started
_LOCAL_NAMES=()  # parallel to _LOCAL_PIDS, for messages
_LOCAL_TARGETS=() # the drivers' --target, one per driver of a run
_LOCAL_WORKER_METRICS_PORTS=() # fixed pods
_LOCAL_DRIVER_PORTS=()
_LOCAL_SERVING_PORT=""         # local serving's metrics port (/state, /metrics)
_LOCAL_PROM_PORT=""
_LOCAL_LOGS=""
_LOCAL_LAST_END="" # when the previous run's traffic ended (epoch s)
_LOCAL_SCRAPE_S=1  # scrape interval of the generated prometheus.yml
declare -A _LOCAL_CFG=() # local_serving --check-config, key -> value
# How long a finished driver keeps serving /metrics at most; we stop it as
# soon as Prometheus has scraped its final numbers.
LOCAL_LINGER_SECONDS="${LOCAL_LINGER_SECONDS:-30}"

# The number of fixed pods, or nothing for local serving.
_local_fixed_pods() { echo "${LOCAL_PODS-${LOCAL_WORKERS:-}}"; }
_local_serving() { [[ -z "$(_local_fixed_pods)" ]]; }

_local_manifest() { echo "${KNATIVE_MANIFEST:-${_LOCAL_ROOT}/deploy/base/worker/knative-service.yaml}"; }

# _local_serving_flags: local_serving's settings flags, one per line: the
# manifest, then LOCAL_SERVING_ARGS (so they win), then every WORKER_ARGS
# word as a --worker-arg.
_local_serving_flags() {
  local -a args=() wargs=()
  local w
  read -r -a args <<<"${LOCAL_SERVING_ARGS:-}"
  read -r -a wargs <<<"${WORKER_ARGS:-}"
  printf '%s\n' "--from-manifest=$(_local_manifest)" --shutdown-grace=5s "${args[@]}"
  for w in "${wargs[@]}"; do printf '%s\n' "--worker-arg=${w}"; done
}

# _local_serving_resolve: local_serving --check-config with the sweep's
# settings into _LOCAL_CFG. Bad settings (a flag local_serving does not know,
# a bad value, a bad manifest) end the sweep here with local_serving's own
# one-line message, before anything starts.
_local_serving_resolve() {
  local out line
  local -a flags=()
  ((${#_LOCAL_CFG[@]} == 0)) || return 0
  mapfile -t flags < <(_local_serving_flags)
  [[ -n "${WORKER_BIN:-}" ]] && flags+=("--worker=${WORKER_BIN}")
  out="$("$LOCAL_SERVING_BIN" --check-config "${flags[@]}" 2>&1)" ||
    die "local serving's settings are invalid: $(grep -v '^$' <<<"$out" | tail -n 1)"
  while IFS= read -r line; do
    [[ "$line" == *=* ]] && _LOCAL_CFG["${line%%=*}"]="${line#*=}"
  done <<<"$out"
}

# _local_cfg_seconds KEY DEFAULT: a duration of the resolved settings in
# whole seconds (6s, 1m, 1m30s); before they are resolved (no binary yet, in
# --dry-run), the flag's value in LOCAL_SERVING_ARGS; else DEFAULT.
_local_cfg_seconds() {
  local v="${_LOCAL_CFG[$1]:-}" s flag="--${1//_/-}"
  if [[ -z "$v" && " ${LOCAL_SERVING_ARGS:-} " =~ [[:space:]]${flag}[=[:space:]]+([^[:space:]]+) ]]; then
    v="${BASH_REMATCH[1]}"
  fi
  s="$(duration_seconds "$v" 2>/dev/null)" && echo "$s" || echo "$2"
}

# The revision's idle state: min-scale ready pods (at least 1 when scale to
# zero is switched off).
_local_idle_pods() {
  local n="${_LOCAL_CFG[min_scale]:-0}"
  if [[ "${_LOCAL_CFG[enable_scale_to_zero]:-true}" == false ]] && ((n < 1)); then
    n=1
  fi
  echo "$n"
}

_local_idle_timeout() {
  if [[ -n "${LOCAL_IDLE_TIMEOUT:-}" ]]; then
    echo "$LOCAL_IDLE_TIMEOUT"
  elif _local_serving; then
    echo $(($(_local_cfg_seconds window 60) + $(_local_cfg_seconds scale_to_zero_grace_period 30) + 60))
  else
    echo 60
  fi
}

# backend_plan: check the backend's own settings without starting anything
# (local serving: local_serving --check-config, when the binary exists), and
# set BACKEND_PLAN (key=value lines for --dry-run and sweep.conf),
# BACKEND_RUN_EXTRA_S (seconds each run takes after its load, beyond the
# sweep's generic estimate) and BACKEND_SETUP_EXTRA_S.
backend_plan() {
  local n window grace
  n="$(_local_fixed_pods)"
  BACKEND_PLAN=""
  BACKEND_RUN_EXTRA_S=0
  BACKEND_SETUP_EXTRA_S=0
  _plan() { BACKEND_PLAN+="$1"$'\n'; }
  if [[ -n "$n" ]]; then
    _plan "system=fixed pods"
    _plan "workers=${n}"
  else
    [[ -f "$(_local_manifest)" ]] ||
      die "the Knative Service manifest '$(_local_manifest)' does not exist (--manifest / KNATIVE_MANIFEST)"
    _plan "system=local serving"
    _plan "workers=autoscaled by local_serving"
    _plan "local_serving_bin=${LOCAL_SERVING_BIN:-}"
    _plan "manifest=$(_local_manifest)"
    _plan "serving_args=${LOCAL_SERVING_ARGS:-}"
    if [[ -x "${LOCAL_SERVING_BIN:-}" ]]; then
      _local_serving_resolve
      _plan "pod_start_delay=${_LOCAL_CFG[pod_start_delay]:-}"
      _plan "stable_window=${_LOCAL_CFG[window]:-}"
      _plan "idle_pods=$(_local_idle_pods)"
    fi
    window="$(_local_cfg_seconds window 60)"
    grace="$(_local_cfg_seconds scale_to_zero_grace_period 30)"
    # After its load a run lasts until the revision is idle again: about a
    # stable window (it empties, a tick, the pods drain). The first time, the
    # fast path to zero also needs the activator in the path for the
    # scale-to-zero grace period since local_serving started.
    # shellcheck disable=SC2034  # read by run_experiments.sh
    BACKEND_RUN_EXTRA_S="$window"
    # shellcheck disable=SC2034
    BACKEND_SETUP_EXTRA_S=$((grace > ${DURATION_S:-0} + 2 * window ? grace - ${DURATION_S:-0} - 2 * window : 0))
  fi
  _plan "worker_bin=${WORKER_BIN:-}"
  _plan "driver_bin=${DRIVER_BIN:-}"
  unset -f _plan
}

_local_track() {
  _LOCAL_PIDS+=("$1")
  _LOCAL_NAMES+=("$2")
}

_local_tail_log() {
  if [[ -f "$1" ]]; then
    log "last lines of $1:"
    tail -n 15 "$1" >&2 || true
  fi
}

# _local_wait_ready NAME PID LOGFILE TIMEOUT CMD...: like wait_for, but gives
# up at once (showing the log) when the process died.
_local_wait_ready() {
  local name="$1" pid="$2" logfile="$3" timeout="$4" deadline
  shift 4
  deadline=$((SECONDS + timeout))
  until "$@"; do
    if ! pid_alive "$pid"; then
      log "${name} exited during start-up"
      _local_tail_log "$logfile"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "${name} not ready after ${timeout}s"
      _local_tail_log "$logfile"
      return 1
    fi
    sleep 0.2
  done
}

_local_worker_ready() { port_listening "$1" && http_ok "http://127.0.0.1:$2/healthz"; }

# _local_scraped JOB N: Prometheus scraped N targets of JOB successfully.
_local_scraped() {
  local body
  body="$(prom_instant "$PROM_URL" "count(up{job=\"$1\"} == 1)")" || return 1
  jq -e --argjson n "$2" '(.data.result[0].value[1] // "0" | tonumber) == $n' >/dev/null <<<"$body"
}

# _local_scraped_after JOB EPOCH: Prometheus holds a sample of JOB scraped
# after EPOCH (so a query up to now sees the state at EPOCH).
_local_scraped_after() {
  local body
  body="$(prom_instant "$PROM_URL" "timestamp(up{job=\"$1\"})")" || return 1
  jq -e --argjson t "$2" '(.data.result[0].value[1] // "0" | tonumber) >= $t' >/dev/null <<<"$body"
}

_local_write_prom_config() {
  local file="$1" i
  {
    echo "# Generated by scripts/lib/local_mode.sh for one local sweep."
    echo "global:"
    echo "  scrape_interval: ${_LOCAL_SCRAPE_S}s"
    echo "  scrape_timeout: ${_LOCAL_SCRAPE_S}s"
    echo "  evaluation_interval: 1s"
    echo "scrape_configs:"
    echo "  - job_name: worker"
    if _local_serving; then
      # local_serving rewrites the list (atomically) as pods come and go.
      echo "    file_sd_configs:"
      echo "      - files: ['${_LOCAL_TMP}/pods.json']"
      echo "        refresh_interval: 5s"
      echo "  - job_name: local_serving"
      echo "    static_configs:"
      echo "      - targets: ['127.0.0.1:${_LOCAL_SERVING_PORT}']"
      echo "        labels: {pod: 'local_serving'}"
    else
      echo "    static_configs:"
      for i in "${!_LOCAL_WORKER_METRICS_PORTS[@]}"; do
        echo "      - targets: ['127.0.0.1:${_LOCAL_WORKER_METRICS_PORTS[$i]}']"
        echo "        labels: {pod: 'worker-$((i + 1))'}"
      done
    fi
    echo "  - job_name: load_driver"
    echo "    static_configs:"
    for i in "${!_LOCAL_DRIVER_PORTS[@]}"; do
      echo "      - targets: ['127.0.0.1:${_LOCAL_DRIVER_PORTS[$i]}']"
      echo "        labels: {pod: 'load-driver-$((i + 1))'}"
    done
  } >"$file"
}

_local_start_fixed_pods() {
  local n="$1" i gport mport dport pid logf
  local -a wargs=()
  read -r -a wargs <<<"${WORKER_ARGS:-}"
  for ((i = 1; i <= n; i++)); do
    free_port gport || return 1
    free_port mport || return 1
    free_port dport || return 1
    _LOCAL_TARGETS+=("127.0.0.1:${gport}")
    _LOCAL_WORKER_METRICS_PORTS+=("$mport")
    _LOCAL_DRIVER_PORTS+=("$dport")
    logf="${_LOCAL_LOGS}/worker-${i}.log"
    # The port flags win over any PORT/GRPC_PORT/METRICS_PORT in our env.
    POD_NAME="worker-${i}" spawn "$WORKER_BIN" --bind 127.0.0.1 --grpc-port "$gport" \
      --metrics-port "$mport" --shutdown-grace 5s "${wargs[@]}" >"$logf" 2>&1 &
    pid=$!
    _local_track "$pid" "worker-${i}"
    log "started worker-${i} (pid ${pid}) gRPC 127.0.0.1:${gport}, metrics :${mport}"
  done
}

_local_start_serving() {
  local lport dport pid logf
  local -a flags=()
  _local_serving_resolve
  free_port lport || return 1
  free_port _LOCAL_SERVING_PORT || return 1
  free_port dport || return 1
  _LOCAL_TARGETS+=("127.0.0.1:${lport}")
  _LOCAL_DRIVER_PORTS+=("$dport")
  echo '[]' >"${_LOCAL_TMP}/pods.json"
  mkdir -p "${_LOCAL_LOGS}/pods"
  mapfile -t flags < <(_local_serving_flags)
  logf="${_LOCAL_LOGS}/local_serving.log"
  # Ours last, so that no LOCAL_SERVING_ARGS can move the ports or files.
  spawn "$LOCAL_SERVING_BIN" "${flags[@]}" --worker="$WORKER_BIN" \
    --listen="127.0.0.1:${lport}" --metrics-port="$_LOCAL_SERVING_PORT" \
    --log-dir="${_LOCAL_LOGS}/pods" --prometheus-sd-file="${_LOCAL_TMP}/pods.json" \
    --stats-out="${_LOCAL_LOGS}/local_serving-stats.csv" \
    --decisions-out="${_LOCAL_LOGS}/local_serving-decisions.csv" >"$logf" 2>&1 &
  pid=$!
  _local_track "$pid" local_serving
  log "started local_serving (pid ${pid}) at 127.0.0.1:${lport}, metrics :${_LOCAL_SERVING_PORT}, pod logs in ${_LOCAL_LOGS}/pods"
}

backend_setup() {
  local n i pid logf
  n="$(_local_fixed_pods)"
  if [[ -n "$n" ]]; then
    is_posint "$n" || die "--local-pods must be a positive integer, got '${n}'"
  else
    [[ -n "${LOCAL_SERVING_BIN:-}" && -x "$LOCAL_SERVING_BIN" ]] ||
      die "local_serving binary not found or not executable: '${LOCAL_SERVING_BIN:-}' (build it, set --build-dir / LOCAL_SERVING_BIN, or use --local-pods N for fixed workers)"
  fi
  [[ -n "${WORKER_BIN:-}" && -x "$WORKER_BIN" ]] ||
    die "worker binary not found or not executable: '${WORKER_BIN:-}' (build it, or set --build-dir / WORKER_BIN)"
  [[ -n "${DRIVER_BIN:-}" && -x "$DRIVER_BIN" ]] ||
    die "load_driver binary not found or not executable: '${DRIVER_BIN:-}' (build it, or set --build-dir / DRIVER_BIN)"
  command -v prometheus >/dev/null ||
    die "prometheus not found on PATH (Debian package 'prometheus'; scripts/install_deps.sh installs it)"
  local tool
  for tool in curl jq setsid setpriv; do
    command -v "$tool" >/dev/null || die "${tool} not found on PATH (scripts/install_deps.sh installs it)"
  done
  if [[ -n "${PROM_URL:-}" ]]; then
    warn "local mode runs its own Prometheus; ignoring PROM_URL=${PROM_URL}"
  fi

  _LOCAL_TMP="$(mktemp -d "${TMPDIR:-/tmp}/knbench-local.XXXXXX")"
  _LOCAL_LOGS="${LOCAL_LOG_DIR:-$_LOCAL_TMP}"
  mkdir -p "$_LOCAL_LOGS"

  if [[ -n "$n" ]]; then
    _local_start_fixed_pods "$n" || return 1
  else
    _local_start_serving || return 1
  fi

  free_port _LOCAL_PROM_PORT || return 1
  _local_write_prom_config "${_LOCAL_TMP}/prometheus.yml"
  if command -v promtool >/dev/null; then
    promtool check config "${_LOCAL_TMP}/prometheus.yml" >/dev/null 2>&1 ||
      die "generated Prometheus config is invalid: ${_LOCAL_TMP}/prometheus.yml"
  fi
  logf="${_LOCAL_LOGS}/prometheus.log"
  spawn prometheus --config.file="${_LOCAL_TMP}/prometheus.yml" \
    --storage.tsdb.path="${_LOCAL_TMP}/prometheus-data" \
    --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:${_LOCAL_PROM_PORT}" >"$logf" 2>&1 &
  pid=$!
  _local_track "$pid" prometheus
  PROM_URL="http://127.0.0.1:${_LOCAL_PROM_PORT}"
  log "started prometheus (pid ${pid}) at ${PROM_URL}, data in ${_LOCAL_TMP}/prometheus-data"

  if [[ -n "$n" ]]; then
    for ((i = 0; i < n; i++)); do
      _local_wait_ready "worker-$((i + 1))" "${_LOCAL_PIDS[$i]}" "${_LOCAL_LOGS}/worker-$((i + 1)).log" 30 \
        _local_worker_ready "${_LOCAL_TARGETS[$i]##*:}" "${_LOCAL_WORKER_METRICS_PORTS[$i]}" || return 1
    done
  else
    _local_wait_ready local_serving "${_LOCAL_PIDS[0]}" "${_LOCAL_LOGS}/local_serving.log" 30 \
      _local_worker_ready "${_LOCAL_TARGETS[0]##*:}" "$_LOCAL_SERVING_PORT" || return 1
  fi
  _local_wait_ready prometheus "$pid" "$logf" 30 http_ok "${PROM_URL}/-/ready" || return 1
  # The first run's window should start with everything already scraped.
  if [[ -n "$n" ]]; then
    _local_wait_ready prometheus "$pid" "$logf" 30 _local_scraped worker "$n" || return 1
    log "local backend ready: ${n} fixed worker(s), Prometheus scraping every 1s"
  else
    _local_wait_ready prometheus "$pid" "$logf" 30 _local_scraped local_serving 1 || return 1
    log "local backend ready: local serving (${_LOCAL_CFG[service]:-worker}: target ${_LOCAL_CFG[target_per_pod]:-?} per pod, window ${_LOCAL_CFG[window]:-?}, min ${_LOCAL_CFG[min_scale]:-?} max ${_LOCAL_CFG[max_scale]:-?}, pod start delay ${_LOCAL_CFG[pod_start_delay]:-?}), Prometheus scraping every 1s"
  fi
}

# _local_workers_idle: every fixed worker's own /metrics says no call is in
# flight.
_local_workers_idle() {
  local port
  for port in "${_LOCAL_WORKER_METRICS_PORTS[@]}"; do
    curl -fsS --max-time 2 "http://127.0.0.1:${port}/metrics" 2>/dev/null |
      awk '$1 == "worker_inflight_requests" { seen = 1; busy = ($2 != 0) } END { exit !(seen && !busy) }' ||
      return 1
  done
}

# _local_serving_idle: local_serving's /state shows the revision at its idle
# state: the idle count requested and ready, no pod pending, starting or
# terminating, nothing queued or in flight.
_local_serving_idle() {
  curl -fsS --max-time 2 "http://127.0.0.1:${_LOCAL_SERVING_PORT}/state" 2>/dev/null |
    jq -e --argjson idle "$(_local_idle_pods)" '.requested == $idle and .ready == $idle
      and .not_ready == 0 and .pending == 0 and .terminating == 0 and .queued == 0
      and .inflight == 0' >/dev/null
}

_local_idle() { if _local_serving; then _local_serving_idle; else _local_workers_idle; fi; }

# _local_drivers_stale: Prometheus holds no live series of any driver: the
# previous run's driver was stopped and a failed scrape marked its series
# stale, so no gauge of the next run can show the previous run's value.
_local_drivers_stale() {
  local body
  body="$(prom_instant "$PROM_URL" "count(load_driver_scheduled_total)")" || return 1
  jq -e '.data.result == []' >/dev/null <<<"$body"
}

# backend_wait_idle GAP_S: the system under test is idle (fixed: no call in
# flight at any worker; serving: the revision back at its idle state),
# Prometheus no longer shows the previous driver, and GAP_S seconds plus one
# scrape interval have passed since the previous run's traffic ended: a GAP_S
# rate window evaluated anywhere in the next run cannot see the previous run.
backend_wait_idle() {
  local gap="$1" timeout rest rc=0 what
  ((${#_LOCAL_TARGETS[@]} > 0)) || die "backend_wait_idle called before backend_setup"
  timeout="$(_local_idle_timeout)"
  what="the workers to finish every call in flight"
  _local_serving && what="local serving to be back at its idle state ($(_local_idle_pods) pods, nothing queued or in flight)"
  wait_for "$timeout" "$what" _local_idle || rc=1
  if [[ -n "$_LOCAL_LAST_END" ]]; then
    rest="$(awk -v e="$_LOCAL_LAST_END" -v g="$gap" -v s="$_LOCAL_SCRAPE_S" -v now="$(date +%s.%N)" \
      'BEGIN { r = e + g + s - now; printf "%.3f\n", (r > 0 ? r : 0) }')"
    # The condition here is time itself: wait out exactly what is left.
    sleep "$rest"
    wait_for "$timeout" "Prometheus to mark the previous driver's series stale" _local_drivers_stale || rc=1
  fi
  return "$rc"
}

# _local_driver_done PID PORT: the driver exited, or it finished its run and
# now serves /summary.json while lingering.
_local_driver_done() { ! pid_alive "$1" || http_ok "http://127.0.0.1:$2/done"; }

_local_json_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# backend_run: the run's drivers (fixed: one per worker at rps/N; serving:
# one, aimed at local_serving). With local serving the run then lasts until
# the revision is back at its idle state, so its window holds the scale-down
# too (0 -> N -> 0), bounded by the idle timeout.
backend_run() {
  local rps="$1" spin="$2" duration="$3" warmup="$4" csv_out="$5" summary_out="$6"
  local n="${#_LOCAL_TARGETS[@]}" i share pid port end sched rc=0 stem idle_at
  local -a dargs=() pids=() outs=() sums=() logs=()
  ((n > 0)) || die "backend_run called before backend_setup"
  ((rps >= n)) || die "rps=${rps} is below the number of workers (${n}): each driver needs at least 1 request/s"
  read -r -a dargs <<<"${DRIVER_ARGS:-}"
  if [[ -n "${THRESHOLDS:-}" ]]; then dargs=("--threshold=${THRESHOLDS}" "${dargs[@]}"); fi
  stem="$(basename "$csv_out" .csv)"
  stem="${stem#results-}"

  for ((i = 0; i < n; i++)); do
    share=$((rps / n + (i < rps % n ? 1 : 0)))
    if ((n == 1)); then
      outs+=("$csv_out")
      sums+=("$summary_out")
    else
      outs+=("${_LOCAL_TMP}/run-driver$((i + 1)).csv")
      sums+=("${_LOCAL_TMP}/run-driver$((i + 1)).json")
      rm -f "${outs[$i]}" "${sums[$i]}"
    fi
    logs+=("${_LOCAL_LOGS}/load_driver-$((i + 1))-${stem}.log")
    spawn "$DRIVER_BIN" --bind 127.0.0.1 --target "${_LOCAL_TARGETS[$i]}" --rps "$share" \
      --spin-ms "$spin" --duration "${duration}s" --warmup "${warmup}s" \
      --out "${outs[$i]}" --summary "${sums[$i]}" \
      --metrics-port "${_LOCAL_DRIVER_PORTS[$i]}" --linger "${LOCAL_LINGER_SECONDS}s" \
      --progress-interval 1s "${dargs[@]}" >"${logs[$i]}" 2>&1 &
    pid=$!
    pids+=("$pid")
    _local_track "$pid" "load_driver-$((i + 1))"
    log "started load_driver-$((i + 1)) (pid ${pid}) at ${share} rps -> ${_LOCAL_TARGETS[$i]}, metrics :${_LOCAL_DRIVER_PORTS[$i]}"
  done

  # The run itself: bounded by its duration plus a generous margin for
  # draining in-flight calls (the driver's own timeout is 30 s).
  for ((i = 0; i < n; i++)); do
    wait_for $((duration + warmup + 90)) "load_driver-$((i + 1)) to finish its run" \
      _local_driver_done "${pids[$i]}" "${_LOCAL_DRIVER_PORTS[$i]}" || rc=1
  done
  end="$(date +%s.%N)"
  _LOCAL_LAST_END="$end"

  # Prometheus must hold the drivers' final numbers before the run's window
  # is collected: wait until it scraped scheduled_total == the summary's
  # scheduled with a sample taken after the run ended.
  for ((i = 0; i < n; i++)); do
    port="${_LOCAL_DRIVER_PORTS[$i]}"
    if [[ -s "${sums[$i]}" ]] && sched="$(_local_json_field "${sums[$i]}" scheduled 2>/dev/null)"; then
      if pid_alive "${pids[$i]}"; then
        wait_for 15 "Prometheus to scrape load_driver-$((i + 1))'s final count" \
          prom_scraped_final "instance=127.0.0.1:${port}" "$sched" "$end" ||
          warn "the run's last second may be missing from prometheus-*.json"
      else
        warn "load_driver-$((i + 1)) exited before Prometheus could scrape its final numbers"
      fi
    fi
  done

  for ((i = 0; i < n; i++)); do
    stop_pid "${pids[$i]}" "load_driver-$((i + 1))" 15
    if [[ ! -s "${outs[$i]}" || ! -s "${sums[$i]}" ]]; then
      log "load_driver-$((i + 1)) left no CSV or summary (${outs[$i]}, ${sums[$i]})"
      _local_tail_log "${logs[$i]}"
      rc=1
    fi
  done
  _local_forget_exited
  ((rc == 0)) || return 1

  if _local_serving; then
    if wait_for "$(_local_idle_timeout)" "local serving to scale back to its idle state after the run" \
      _local_serving_idle; then
      # Two scrapes after it: the collected series' last 1 s step then sees the idle state.
      idle_at="$(awk -v t="$(date +%s.%N)" -v s="$_LOCAL_SCRAPE_S" 'BEGIN { printf "%.3f", t + s }')"
      wait_for 15 "Prometheus to scrape local serving's idle state" \
        _local_scraped_after local_serving "$idle_at" ||
        warn "the run's window may end before its scale-down shows in prometheus-*.json"
    else
      warn "the revision was not back at its idle state in time; the run's window ends without it"
    fi
  fi

  if ((n > 1)); then
    "$PY" "$(dirname "${BASH_SOURCE[0]}")/merge_runs.py" --rps "$rps" \
      --out "$csv_out" --summary "$summary_out" \
      --inputs "${outs[@]}" --summaries "${sums[@]}" || return 1
  fi
  return 0
}

# backend_progress NAME: the latest progress line of each driver of run NAME.
backend_progress() {
  local f
  for f in "${_LOCAL_LOGS}"/load_driver-[0-9]*-"$1".log; do
    [[ -f "$f" ]] && grep ' elapsed ' "$f" | tail -n 1
  done
  return 0
}

# _local_kpa_model_args: the arguments that give kpa_model local serving's
# settings: the manifest, then each LOCAL_SERVING_ARGS flag kpa_model also
# has (--window, --target, --pod-start-delay, ...; flags of local serving
# alone, such as --max-pods or --worker-arg, are left out). One line.
_local_kpa_model_args() {
  local -a args=() out=() known=()
  local i tok name
  read -r -a args <<<"${LOCAL_SERVING_ARGS:-}"
  if [[ -x "${KPA_MODEL_BIN:-}" ]]; then
    mapfile -t known < <("$KPA_MODEL_BIN" --help 2>&1 | sed -n 's/^  --\([a-z0-9-]*\) (default.*/\1/p')
  fi
  out=("--from-manifest=$(_local_manifest)")
  for ((i = 0; i < ${#args[@]}; i++)); do
    tok="${args[$i]}"
    [[ "$tok" == --* ]] || continue
    name="${tok#--}"
    name="${name%%=*}"
    if [[ "$tok" != *=* && $((i + 1)) -lt ${#args[@]} && "${args[$((i + 1))]}" != --* ]]; then
      tok+="=${args[$((i + 1))]}"
      i=$((i + 1))
    fi
    case "$name" in input | output | extend | help | from-manifest) continue ;; esac
    if printf '%s\n' "${known[@]}" | grep -qxF -- "$name"; then out+=("$tok"); fi
  done
  echo "${out[*]}"
}

# backend_describe: the system under test, for the report's header.
backend_describe() {
  local n k manifest settings=""
  n="$(_local_fixed_pods)"
  if [[ -n "$n" ]]; then
    echo "system_under_test=fixed pods: ${n} worker process(es) on this machine, no autoscaler in the loop"
    echo "autoscaling=none: ${n} fixed worker process(es), no autoscaler in the loop"
    echo "autoscaling_source=local mode with --local-pods ${n} (fixed workers)"
    echo "worker_flags=--bind 127.0.0.1 --shutdown-grace 5s${WORKER_ARGS:+ ${WORKER_ARGS}}"
  else
    manifest="$(_local_manifest)"
    manifest="${manifest#"${_LOCAL_ROOT}"/}"
    for k in metric target_per_pod container_concurrency window panic_window_percentage \
      target_burst_capacity min_scale max_scale initial_scale scale_to_zero_grace_period; do
      [[ -n "${_LOCAL_CFG[$k]:-}" ]] && settings+="${settings:+ }${k}=${_LOCAL_CFG[$k]}"
    done
    echo "system_under_test=local serving: the worker ran as pods (worker processes on this machine) behind local_serving's activator and queue-proxy, scaled from zero and back by Knative's KPA (the autoscaler_model code that kpa_model replays); one local_serving for the whole sweep"
    echo "autoscaling=KPA ${settings}"
    echo "autoscaling_source=${manifest} (its autoscaling.knative.dev annotations)${LOCAL_SERVING_ARGS:+, then ${LOCAL_SERVING_ARGS}}"
    echo "pod_start_delay=${_LOCAL_CFG[pod_start_delay]:-unknown}"
    echo "serving_flags=$(_local_serving_flags | tr '\n' ' ')--prometheus-sd-file --stats-out --decisions-out (logs/local_serving-*.csv)"
    echo "worker_flags=local_serving's --bind 127.0.0.1 --grpc-port --metrics-port --shutdown-grace${WORKER_ARGS:+, then ${WORKER_ARGS}}"
    echo "kpa_model_args=$(_local_kpa_model_args)"
  fi
  echo "driver_flags=--bind 127.0.0.1 --linger ${LOCAL_LINGER_SECONDS}s --progress-interval 1s${THRESHOLDS:+ --threshold=${THRESHOLDS}}${DRIVER_ARGS:+ ${DRIVER_ARGS}}"
}

# backend_replay_check: after teardown, with local serving and kpa_model:
# kpa_model replays local serving's per-second stats with the sweep's
# settings; prints one line saying whether its decisions equal the live ones
# (nothing when there is nothing to check).
backend_replay_check() {
  local stats="${_LOCAL_LOGS}/local_serving-stats.csv" live="${_LOCAL_LOGS}/local_serving-decisions.csv"
  local replay="${_LOCAL_LOGS}/kpa_model-replay.csv" first n
  local -a args=()
  _local_serving && [[ -x "${KPA_MODEL_BIN:-}" && -s "$stats" && -s "$live" ]] || return 0
  read -r -a args <<<"$(_local_kpa_model_args)"
  if ! setpriv --pdeathsig TERM "$KPA_MODEL_BIN" --input "$stats" --output "$replay" "${args[@]}" \
    >/dev/null 2>"${replay}.err"; then
    echo "not checked: kpa_model failed on logs/local_serving-stats.csv ($(tail -n 1 "${replay}.err"))"
    return 0
  fi
  rm -f "${replay}.err"
  n=$(($(wc -l <"$live") - 1))
  if cmp -s "$replay" "$live"; then
    echo "identical: kpa_model's replay of logs/local_serving-stats.csv gives the ${n} live decisions of logs/local_serving-decisions.csv"
  else
    first="$(cmp "$replay" "$live" 2>&1 | grep -o 'line [0-9]*' | head -n 1)"
    echo "DIFFERENT: kpa_model's replay (logs/kpa_model-replay.csv) and the ${n} live decisions differ from ${first:-the end of one file}"
  fi
}

# Drop PIDs of processes that have exited so teardown never signals a PID the
# kernel may have reused.
_local_forget_exited() {
  local -a pids=() names=()
  local i
  for i in "${!_LOCAL_PIDS[@]}"; do
    if pid_alive "${_LOCAL_PIDS[$i]}"; then
      pids+=("${_LOCAL_PIDS[$i]}")
      names+=("${_LOCAL_NAMES[$i]}")
    fi
  done
  _LOCAL_PIDS=("${pids[@]}")
  _LOCAL_NAMES=("${names[@]}")
}

backend_teardown() {
  local i
  # Newest first: any driver still running, then Prometheus, then the
  # workers or local_serving (which stops its pods: give it their drain).
  for ((i = ${#_LOCAL_PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${_LOCAL_PIDS[$i]}" "${_LOCAL_NAMES[$i]}" \
      "$([[ "${_LOCAL_NAMES[$i]}" == local_serving ]] && echo 45 || echo 15)"
  done
  _LOCAL_PIDS=()
  _LOCAL_NAMES=()
  if [[ -n "$_LOCAL_TMP" && -d "$_LOCAL_TMP" && "$_LOCAL_TMP" == */knbench-local.* ]]; then
    rm -rf -- "$_LOCAL_TMP"
  fi
  _LOCAL_TMP=""
  _LOCAL_TARGETS=()
  _LOCAL_WORKER_METRICS_PORTS=()
  _LOCAL_DRIVER_PORTS=()
  _LOCAL_SERVING_PORT=""
  _LOCAL_LAST_END=""
}
