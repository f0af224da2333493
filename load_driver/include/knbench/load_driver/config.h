#ifndef KNBENCH_LOAD_DRIVER_CONFIG_H_
#define KNBENCH_LOAD_DRIVER_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "knbench/load_driver/schedule.h"
#include "knbench/load_driver/target.h"
#include "knbench/load_driver/threshold.h"
#include "knbench/tracing/flags.h"

namespace knbench::load_driver {

// Everything a run needs, as given by the flags and then resolved.
struct Config {
  std::string target = "worker.default.svc.cluster.local:80";
  double rps = 5;
  int64_t spin_ms = 100;
  absl::Duration duration = absl::Minutes(12);
  std::string out = "/out/results.csv";
  int64_t metrics_port = 2113;
  std::string bind = "0.0.0.0";  // address of the metrics port
  std::string schedule_spec;     // empty: one constant phase of rps/duration
  std::string arrivals_name = "uniform";
  uint64_t seed = 1;
  absl::Duration warmup;
  int64_t connections = 1;
  // How calls are sent: "h2", "grpc", or "auto" (resolved to one of them).
  std::string transport = "auto";
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(20);
  int64_t max_inflight = 10000;
  // The pacer wakes at most once per quantum (see PacerOptions::quantum).
  absl::Duration pacing_quantum = absl::Microseconds(200);
  std::string summary;  // empty: derived from out (see SummaryPathFor)
  absl::Duration progress_interval = absl::Seconds(5);
  absl::Duration linger;
  std::string drain_timeout_text;  // empty: same as timeout
  bool fail_fast = false;
  std::vector<Threshold> thresholds;  // --threshold, parsed by main
  tracing::TracingSettings tracing;   // --trace-sample-rate, --otlp-endpoint..

  // Filled by Resolve.
  Target endpoint;  // `target` parsed
  std::optional<Schedule> schedule;
  Arrivals arrivals = Arrivals::kUniform;
  absl::Duration drain_timeout;
  std::string summary_path;
};

// Validates and resolves `c` (target, schedule, summary path, drain
// timeout). Does not touch the network (see CheckResolves) nor write any
// file.
absl::Status ResolveConfig(Config* c);

// The default --summary for an --out path: its name with ".csv" replaced by
// (or, without it, followed by) ".summary.json", so that runs with
// different --out in one directory keep their own summaries.
std::string SummaryPathFor(const std::string& out);

// Whether this build has the driver's own HTTP/2 transport (nghttp2).
bool HasH2Transport();

// The resolved configuration and schedule, for --check-config and the log.
std::string DescribeConfig(const Config& c);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_CONFIG_H_
