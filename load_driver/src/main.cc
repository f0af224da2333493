// load_driver: open-loop gRPC load generator for the worker. See --help and
// docs/load_driver.md.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "knbench/common/binary.h"
#include "knbench/common/flags.h"
#include "knbench/common/net.h"
#include "knbench/common/shutdown.h"
#include "knbench/load_driver/config.h"
#include "knbench/load_driver/driver.h"
#include "knbench/load_driver/threshold.h"
#include "knbench/tracing/flags.h"

ABSL_FLAG(std::string, target, "worker.default.svc.cluster.local:80",
          "Worker address host:port (also dns:///host:port).");
ABSL_FLAG(double, rps, 5,
          "Constant request rate (requests/s) with --duration.");
ABSL_FLAG(int64_t, spin_ms, 100,
          "Busy-spin each request asks the worker for, ms.");
ABSL_FLAG(absl::Duration, duration, absl::Minutes(12),
          "Length of the --rps run (Go syntax: 90s, 12m, 1h30m).");
ABSL_FLAG(std::string, out, "/out/results.csv",
          "CSV file, one row per request.");
ABSL_FLAG(int64_t, metrics_port, 2113,
          "Port of /metrics, /healthz and, after the run, /results.csv and "
          "/summary.json (0 picks a free port).");
ABSL_FLAG(std::string, bind, knbench::kDefaultBindAddress,
          "Address the metrics port listens on: 0.0.0.0 (all IPv4 "
          "interfaces, as a container needs), 127.0.0.1 for this machine "
          "only, or any numeric IPv4/IPv6 address.");
ABSL_FLAG(std::string, schedule, "",
          "Phases, replacing --rps/--duration: RATE@DUR, FROM..TO@DUR, "
          "step:START:STEP:END@HOLD, trace:PATH[@HOLD], comma-separated.");
ABSL_FLAG(std::string, arrivals, "uniform",
          "uniform (evenly spaced, as the original) or poisson.");
ABSL_FLAG(uint64_t, seed, 1, "Random seed of --arrivals=poisson.");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(),
          "First part of the run marked warm-up (column warmup=1; counted, "
          "excluded from latency statistics).");
ABSL_FLAG(int64_t, connections, 1,
          "gRPC channels (TCP connections), round-robin.");
ABSL_FLAG(std::string, transport, "auto",
          "How calls are sent: h2 (the driver's own HTTP/2 client on "
          "nghttp2, on the pacing thread: the least CPU per call), grpc "
          "(gRPC's client library), auto (h2 for host:port targets, grpc "
          "for gRPC's unix:, ipv4: and ipv6: schemes). Same bytes on the "
          "wire, same statuses.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Deadline of each call.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(20),
          "Longest a connection attempt to the target may take (also how "
          "long the driver waits to connect before the first send).");
ABSL_FLAG(int64_t, max_inflight, 10000,
          "Calls in flight at most; a request due beyond it is recorded as "
          "dropped and not sent.");
ABSL_FLAG(absl::Duration, pacing_quantum, absl::Microseconds(200),
          "The pacer wakes at most once per quantum and sends every request "
          "due by then: a request leaves up to this late (recorded as lag), "
          "and at high rates one wake-up serves several requests. 0: wake "
          "for every request at its time. At most 10ms.");
ABSL_FLAG(std::string, summary, "",
          "Summary JSON path (default: --out with .csv replaced by "
          ".summary.json; never the --out file itself).");
ABSL_FLAG(absl::Duration, progress_interval, absl::Seconds(5),
          "Progress line on stderr every interval (0: off).");
ABSL_FLAG(absl::Duration, linger, absl::ZeroDuration(),
          "After the run keep serving /results.csv and /summary.json for at "
          "most this long; exit early once both were fetched.");
ABSL_FLAG(std::string, drain_timeout, "",
          "On SIGTERM/SIGINT, how long to wait for calls in flight before "
          "recording them as failure (default: --timeout).");
ABSL_FLAG(bool, fail_fast, false,
          "Stop at the first failed request and exit 1.");
ABSL_FLAG(std::vector<std::string>, threshold, {},
          "Pass/fail criterion, repeatable or comma-separated, like k6's: "
          "p99<200ms (latency from the intended send; send_p99 from the "
          "actual send; p50 p90 p95 p99 p99.9 min mean max), "
          "failure_rate<0.01, achieved_rps>=95. A violated one exits 99.");
ABSL_FLAG(
    bool, check_config, false,
    "Parse flags and schedule, print the resolved configuration, exit 0.");

namespace {

constexpr char kUsage[] =
    R"(load_driver: open-loop gRPC load generator for the worker.

Sends InvokeWorker(duration_ms=--spin-ms) at intended times computed from the
schedule, never waiting for answers, and records exactly one CSV row per
scheduled request.

Usage: load_driver --target=HOST:PORT [--rps=N --duration=D | --schedule=S] [flags]

Schedule grammar (--schedule, phases run in order, separated by commas):
  RATE@DUR                   constant RATE requests/s for DUR
  FROM..TO@DUR               linear ramp from FROM to TO requests/s over DUR
  step:START:STEP:END@HOLD   staircase START, START+STEP, ... END (downwards
                             if END < START), each rate held for HOLD
  trace:PATH[@HOLD]          one rate (requests/s) per line of PATH, each held
                             HOLD (default 1s; @1m for per-minute traces); in
                             CSV lines the last field is the rate; blank, '#'
                             and header lines and a UTF-8 byte order mark
                             are skipped. Limits: 64 MiB, lines of 4096
                             bytes, 1000000 rates
  Durations use Go syntax (90s, 12m, 1h30m). Rates may be fractional or 0.
  Example, a staircase 100, 200, ... 500 rps, 2 minutes each, after a
  1-minute ramp:   --schedule=0..100@1m,step:100:100:500@2m

CSV columns:
  timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,
  intended_latency_us,lag_us,grpc_code,pod,server_spin_us,phase,warmup

Tracing: --trace-sample-rate above 0 starts a trace for that share of the
requests, each with a client span, and sends its W3C traceparent as gRPC
metadata (both transports), to --otlp-endpoint and/or --trace-out.

Before the first send the driver connects to the target (up to
--connect-timeout); if it cannot, it sends anyway and records the failures.

Exit codes:
  0  run completed (requests that failed are recorded, not an error);
     also after SIGTERM/SIGINT once the results are written
  1  run error: the CSV or summary could not be written, --fail-fast saw a
     failure, or the metrics port could not be bound
  2  usage: unknown flag, unparsable value or schedule, rps <= 0, negative
     duration, unresolvable target, unwritable --out or --summary,
     --summary naming the --out file, or a bad --threshold; nothing was sent
  99 run completed and written, but a --threshold was violated (k6's code;
     a run error's 1 wins over it)
  128+N  signal N during start-up (before the CSV is opened): nothing to save

Flags are also accepted with underscores or a single dash.)";

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "load_driver: %s (see --help)\n", message.c_str());
  std::exit(knbench::load_driver::kExitUsage);
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread: blocks SIGTERM/SIGINT for all later threads.
  knbench::ShutdownSignal shutdown;
  knbench::InitBinary("load_driver");
  // --threshold is a list flag: each one given counts (ParseFlags appends).
  std::vector<std::string> positional =
      knbench::ParseFlagsOrExit(argc, argv, "load_driver", kUsage);
  if (!positional.empty()) {
    UsageError(absl::StrCat("unexpected argument \"", positional[0], "\""));
  }

  knbench::load_driver::Config c;
  c.target = absl::GetFlag(FLAGS_target);
  c.rps = absl::GetFlag(FLAGS_rps);
  c.spin_ms = absl::GetFlag(FLAGS_spin_ms);
  c.duration = absl::GetFlag(FLAGS_duration);
  c.out = absl::GetFlag(FLAGS_out);
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  c.bind = absl::GetFlag(FLAGS_bind);
  c.schedule_spec = absl::GetFlag(FLAGS_schedule);
  c.arrivals_name = absl::GetFlag(FLAGS_arrivals);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.warmup = absl::GetFlag(FLAGS_warmup);
  c.connections = absl::GetFlag(FLAGS_connections);
  c.transport = absl::GetFlag(FLAGS_transport);
  c.timeout = absl::GetFlag(FLAGS_timeout);
  c.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  c.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  c.pacing_quantum = absl::GetFlag(FLAGS_pacing_quantum);
  c.summary = absl::GetFlag(FLAGS_summary);
  c.progress_interval = absl::GetFlag(FLAGS_progress_interval);
  c.linger = absl::GetFlag(FLAGS_linger);
  c.drain_timeout_text = absl::GetFlag(FLAGS_drain_timeout);
  c.fail_fast = absl::GetFlag(FLAGS_fail_fast);
  auto thresholds = knbench::load_driver::ParseThresholds(
      absl::StrJoin(absl::GetFlag(FLAGS_threshold), ","));
  if (!thresholds.ok()) UsageError(std::string(thresholds.status().message()));
  c.thresholds = *std::move(thresholds);
  // The tracing flags are the tracing library's; it reads them.
  auto tracing = knbench::tracing::TracingSettingsFromFlags();
  if (!tracing.ok()) UsageError(std::string(tracing.status().message()));
  c.tracing = *std::move(tracing);

  if (absl::Status st = knbench::load_driver::ResolveConfig(&c); !st.ok()) {
    UsageError(std::string(st.message()));
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    std::fputs(knbench::load_driver::DescribeConfig(c).c_str(), stdout);
    return 0;
  }
  if (absl::Status st = knbench::load_driver::CheckResolves(c.endpoint);
      !st.ok()) {
    UsageError(std::string(st.message()));
  }
  return knbench::load_driver::RunDriver(c, shutdown);
}
