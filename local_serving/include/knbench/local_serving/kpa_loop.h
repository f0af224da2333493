// The KPA class: LiveAutoscaler on the real clock. Every second the ended
// second is recorded and on a tick the decider and scaler decide; a
// request reaching a revision whose decider wants no pods decides at once
// (the poke). Each decision scales the pods, puts the activator in or out
// of the path and updates Knative's autoscaler series.
#ifndef KNBENCH_LOCAL_SERVING_KPA_LOOP_H_
#define KNBENCH_LOCAL_SERVING_KPA_LOOP_H_

#include <memory>
#include <vector>

#include "knbench/autoscaler_model/autoscaler.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/local_serving/autoscaling_loop.h"
#include "knbench/local_serving/live_autoscaler.h"
#include "knbench/local_serving/second_stats.h"

namespace knbench::local_serving {

class KpaLoop : public TimedLoop {
 public:
  // Hooks the poke into the router: before the router starts.
  KpaLoop(const autoscaler_model::KpaConfig& config, LoopContext context,
          SecondStats* stats);
  ~KpaLoop() override { Stop(); }

  void Start() override;
  int32_t idle_pods() const override;

 private:
  absl::Time Deadline() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Step(absl::Time now) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Apply(const std::vector<autoscaler_model::TickRow>& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const autoscaler_model::KpaConfig config_;
  const LoopContext context_;
  SecondStats* const stats_;
  const double target_per_pod_;
  std::unique_ptr<LiveAutoscaler> live_ ABSL_GUARDED_BY(mu_);
  autoscaler_model::TickRow last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_KPA_LOOP_H_
