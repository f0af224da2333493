// Replays a per-second metric series through the KPA: every tick the decider
// runs, then the scaler applies min/max/initial scale and the scale-to-zero
// rules and decides whether the activator stays in the request path.
#ifndef KNBENCH_AUTOSCALER_MODEL_SIMULATOR_H_
#define KNBENCH_AUTOSCALER_MODEL_SIMULATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {

struct MetricSeries {
  // values[s]: total concurrency (or requests) over second s of the input.
  std::vector<double> values;
  // Measured ready pods at second s; empty = simulate them.
  std::vector<int32_t> ready_pods;
};

struct SimulationOptions {
  // A requested pod becomes ready this long after the scale-up decision.
  // Scale-down removes pods at once.
  absl::Duration pod_start_delay = absl::Seconds(2);
  // Keep ticking this long past the end of the input with no traffic (e.g. to
  // watch scale to zero).
  absl::Duration extend = absl::ZeroDuration();
};

struct TickRow {
  int64_t time_s = 0;
  int32_t desired_pods = 0;  // the scale the KPA applies after bounds
  int32_t ready_pods = 0;    // ready pods the decision saw
  bool panic_mode = false;
  double stable_value = 0;
  double panic_value = 0;
  int32_t excess_burst_capacity = 0;
  bool activator_in_path = false;
};

// Ticks at tick_interval, 2*tick_interval, ... while the tick time is at most
// the input length (plus `extend`). `config` must pass ValidateConfig.
std::vector<TickRow> Simulate(const MetricSeries& series,
                              const KpaConfig& config,
                              const SimulationOptions& options);

// "time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,
// excess_burst_capacity,activator_in_path" and one line per tick.
std::string FormatTicksCsv(const std::vector<TickRow>& rows);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SIMULATOR_H_
