// The KPA on the real clock: closes each second of SecondStats into the
// shared autoscaler_model::Autoscaler, decides on every tick and on a poke,
// and writes the per-second series (--stats-out, kpa_model's input format)
// and the decisions (--decisions-out, kpa_model's output format) such that
// replaying the first through kpa_model gives exactly the second.
//
// Time comes in as arguments, so tests drive it without sleeping; the
// thread that calls Advance on the real clock is LocalServing's loop.
#ifndef KNBENCH_LOCAL_SERVING_LIVE_AUTOSCALER_H_
#define KNBENCH_LOCAL_SERVING_LIVE_AUTOSCALER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <vector>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/autoscaler.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/local_serving/second_stats.h"

namespace knbench::local_serving {

class LiveAutoscaler {
 public:
  // Second s of the series is [start + s, start + s + 1); `stats` must use
  // the same start. `ready_pods` reports the ready pods at the moment it is
  // called. `stats_out` and `decisions_out` may be null.
  LiveAutoscaler(const autoscaler_model::KpaConfig& config, absl::Time start,
                 SecondStats* stats, std::function<int32_t()> ready_pods,
                 std::ostream* stats_out, std::ostream* decisions_out);

  // Handles everything up to `now`, in series order: each ended second is
  // recorded (after a poke in it, if it had traffic while the decider wanted
  // zero), then the next second's boundary (ready pods sampled, a decision
  // if it is a tick); last, a poke in the open second. Returns the decisions
  // made, oldest first.
  std::vector<autoscaler_model::TickRow> Advance(absl::Time now);

  // When the next second ends.
  absl::Time next_boundary() const;
  // The decider wants zero pods: the next request must wake Advance at once.
  bool pokeable() const { return pokeable_; }
  int32_t scale() const { return autoscaler_.scale(); }

 private:
  void TryPoke(int64_t second, std::vector<autoscaler_model::TickRow>* rows);
  void Boundary(int64_t second, std::vector<autoscaler_model::TickRow>* rows);
  void Emit(const autoscaler_model::TickRow& row,
            std::vector<autoscaler_model::TickRow>* rows);

  const autoscaler_model::KpaConfig config_;
  const absl::Time start_;
  SecondStats* const stats_;
  const std::function<int32_t()> ready_pods_;
  std::ostream* const stats_out_;
  std::ostream* const decisions_out_;
  const int64_t tick_s_;
  int32_t boundary_ready_;  // ready pods sampled at the last boundary
  autoscaler_model::Autoscaler autoscaler_;
  bool pokeable_ = false;
  // A poke's row goes to decisions_out once its second is in stats_out, so
  // the files always replay exactly (a poke in the second open at exit is
  // not written).
  std::optional<autoscaler_model::TickRow> unwritten_poke_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_LIVE_AUTOSCALER_H_
