#include "knbench/local_serving/hpa_loop.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/hpa_input.h"
#include "knbench/autoscaler_model/hpa_normalizer.h"
#include "knbench/common/log.h"

namespace knbench::local_serving {

namespace am = autoscaler_model;

namespace {

// "cpu 160% (target 70%)", "memory 48 MiB (target 64 MiB)", or why there
// is no measure.
std::string Measured(const am::HpaSpec& spec, const am::HpaRow& row) {
  if (spec.metric == am::HpaMetric::kCpu) {
    if (!row.utilization_percent) return "cpu: no metric";
    return absl::StrCat("cpu ", *row.utilization_percent, "% (target ",
                        spec.target_utilization, "%)");
  }
  if (!row.average_value) return "memory: no metric";
  return absl::StrCat("memory ", *row.average_value >> 20, " MiB (target ",
                      spec.target_average_milli / 1000 >> 20, " MiB)");
}

std::string Count(const std::optional<int32_t>& n) {
  return n.has_value() ? absl::StrCat(*n) : "-";
}

}  // namespace

HpaLoop::HpaLoop(const am::HpaConfig& config, LoopContext context,
                 LiveHpa::Observe observe, HpaMetrics* hpa_metrics)
    : TimedLoop(context.clock),
      context_(context),
      spec_(am::MakeHpaSpec(config)),
      hpa_metrics_(hpa_metrics),
      live_(config, context.start, std::move(observe), context.stats_out,
            context.decisions_out) {}

void HpaLoop::Start() {
  {
    absl::MutexLock lock(&mu_);
    context_.pods->ScaleTo(live_.scale());
    context_.metrics->OnScale(live_.scale(), live_.scale());
    next_refresh_ = context_.clock->Now();
  }
  context_.router->SetActivatorInPath(true);  // until a pod is ready
  StartThread();
}

void HpaLoop::OnPods(const PodCounts& counts) {
  // Not once stopped: the router stops before the pods do.
  if (stopped()) return;
  context_.router->SetActivatorInPath(counts.ready == 0);
}

absl::Time HpaLoop::Deadline() {
  return std::min(live_.next_due(), next_refresh_);
}

void HpaLoop::Step(absl::Time now) {
  for (const am::HpaRow& row : live_.Advance(now)) Apply(row);
  if (now >= next_refresh_) {
    context_.metrics->OnRouter(context_.router->snapshot());
    next_refresh_ = now + absl::Seconds(1);
  }
}

void HpaLoop::Apply(const am::HpaRow& row) {
  if (row.desired_pods != row.current_pods) {
    Logf(
        "t=%ss sync: %d pods (was %d), %s, ready %d, unready %d, missing %d, "
        "%s, recommendation %s, stabilized %s, limit %s",
        am::FormatHpaSeconds(row.time), row.desired_pods, row.current_pods,
        Measured(spec_, row), row.ready_pods, row.unready_pods,
        row.missing_pods, am::HpaCalculationName(row.calculation),
        Count(row.recommendation), Count(row.stabilized),
        am::HpaLimitName(row.limit));
  }
  context_.pods->ScaleTo(live_.scale());
  context_.metrics->OnScale(row.desired_pods, live_.scale());
  hpa_metrics_->OnSync(row);
}

}  // namespace knbench::local_serving
