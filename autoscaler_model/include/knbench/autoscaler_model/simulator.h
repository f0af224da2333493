// Replays a per-second metric series through the KPA (see Autoscaler): a
// decision every tick and on pokes, with ready pods taken from the series or
// simulated.
#ifndef KNBENCH_AUTOSCALER_MODEL_SIMULATOR_H_
#define KNBENCH_AUTOSCALER_MODEL_SIMULATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/autoscaler.h"
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

// Ticks at tick_interval, 2*tick_interval, ... while the tick time is at most
// the input length (plus `extend`), and pokes in the first second with
// traffic after the decider wanted zero pods. `config` must pass
// ValidateConfig.
std::vector<TickRow> Simulate(const MetricSeries& series,
                              const KpaConfig& config,
                              const SimulationOptions& options);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SIMULATOR_H_
