#include "knbench/local_serving/kpa_loop.h"

#include <algorithm>

#include "knbench/common/log.h"

namespace knbench::local_serving {

namespace am = autoscaler_model;

KpaLoop::KpaLoop(const am::KpaConfig& config, LoopContext context,
                 SecondStats* stats)
    : TimedLoop(context.clock),
      config_(config),
      context_(context),
      stats_(stats),
      target_per_pod_(am::ResolveTarget(config).target) {
  context_.router->SetArrivalHook([this] { Poke(); });
}

int32_t KpaLoop::idle_pods() const {
  return config_.enable_scale_to_zero ? config_.min_scale
                                      : std::max(config_.min_scale, 1);
}

void KpaLoop::Start() {
  {
    absl::MutexLock lock(&mu_);
    live_ = std::make_unique<LiveAutoscaler>(
        config_, context_.start, stats_,
        [this] { return context_.pods->counts().ready; }, context_.stats_out,
        context_.decisions_out);
    context_.pods->ScaleTo(live_->scale());
  }
  context_.router->SetActivatorInPath(true);
  StartThread();
}

absl::Time KpaLoop::Deadline() {
  // Until the current second ends, or a request reaches a revision whose
  // decider wants no pods (Knative's poke).
  return live_->next_boundary();
}

void KpaLoop::Step(absl::Time now) {
  Apply(live_->Advance(now));
  context_.router->EnableArrivalHook(live_->pokeable());
  // A request that came while the hook was off is in the stats already.
  if (live_->pokeable()) Apply(live_->Advance(context_.clock->Now()));
  context_.metrics->OnRouter(context_.router->snapshot());
}

void KpaLoop::Apply(const std::vector<am::TickRow>& rows) {
  for (const am::TickRow& row : rows) {
    if (row.desired_pods != last_.desired_pods ||
        row.panic_mode != last_.panic_mode ||
        row.activator_in_path != last_.activator_in_path || row.poke) {
      Logf("t=%ds %s: %d pods (decider %d), ready %d, %s %.3f / %.3f, %s%s",
           row.time_s, row.poke ? "poke" : "tick", row.desired_pods,
           row.decider_pods, row.ready_pods, am::MetricName(config_.metric),
           row.stable_value, row.panic_value,
           row.activator_in_path ? "activator in path" : "activator out",
           row.panic_mode ? ", panic" : "");
    }
    last_ = row;
    context_.pods->ScaleTo(row.desired_pods);
    context_.router->SetActivatorInPath(row.activator_in_path);
    context_.metrics->OnDecision(row, target_per_pod_);
  }
}

}  // namespace knbench::local_serving
