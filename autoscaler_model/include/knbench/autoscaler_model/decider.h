// The KPA decider: one decision per tick from the stable and panic window
// values and the ready pod count (Knative's autoscaler Scale step).
#ifndef KNBENCH_AUTOSCALER_MODEL_DECIDER_H_
#define KNBENCH_AUTOSCALER_MODEL_DECIDER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {

struct Decision {
  int32_t desired_pods = 0;  // before min/max bounds and scale-to-zero
  int32_t excess_burst_capacity = 0;
  // The capacity was below int32's least (or above its most) and is held
  // there: the true value is beyond it.
  bool excess_burst_capacity_saturated = false;
  bool panic_mode = false;
};

class Decider {
 public:
  // `ready_at_start` is the ready pod count when the decider is created: a
  // decider created over more than one ready pod starts in panic mode and
  // holds that count until it has data (Knative does this after a restart).
  Decider(const KpaConfig& config, int32_t ready_at_start);

  // `now` is the time since the start of the series; calls must not go back
  // in time.
  Decision Decide(absl::Duration now, double stable_value, double panic_value,
                  int32_t ready_pods);

 private:
  int32_t DelayScaleDown(absl::Duration now, int32_t desired);

  KpaConfig config_;
  ResolvedTarget target_;
  std::optional<absl::Duration> panic_time_;  // last tick over the threshold
  int32_t max_panic_pods_ = 0;
  std::deque<std::pair<absl::Duration, int32_t>> delay_window_;
};

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_DECIDER_H_
