#include "knbench/autoscaler_model/autoscaler.h"

#include "absl/strings/str_format.h"
#include "knbench/autoscaler_model/window.h"

namespace knbench::autoscaler_model {
namespace {

// Knative's initial excess burst capacity: initial scale x capacity - TBC.
bool ActivatorInPathAtStart(const KpaConfig& config, int32_t ready) {
  if (ready == 0 || config.target_burst_capacity < 0) return true;
  if (config.target_burst_capacity == 0) return false;
  return config.initial_scale * ResolveTarget(config).total <
         config.target_burst_capacity;
}

}  // namespace

Autoscaler::Autoscaler(const KpaConfig& config, int32_t ready_at_start)
    : config_(config),
      decider_(config, ready_at_start),
      scaler_(config),
      stable_buckets_(StableWindowBuckets(config)),
      panic_buckets_(PanicWindowBuckets(config)) {
  scaler_.SetActivatorInPath(absl::ZeroDuration(),
                             ActivatorInPathAtStart(config, ready_at_start));
}

void Autoscaler::Record(double value) { values_.push_back(value); }

TickRow Autoscaler::Tick(int64_t now_s, int32_t ready_pods) {
  return Decide(now_s, now_s, ready_pods);
}

std::optional<TickRow> Autoscaler::Poke(int64_t now_s, int32_t ready_pods) {
  if (last_decider_pods_ != 0 || recorded() != now_s) return std::nullopt;
  values_.push_back(1.0);  // the activator's first report: one request
  TickRow row = Decide(now_s, now_s + 1, ready_pods);
  values_.pop_back();
  row.poke = true;
  return row;
}

TickRow Autoscaler::Decide(int64_t now_s, int64_t window_end_s,
                           int32_t ready_pods) {
  const auto average = config_.aggregation == Aggregation::kLinear
                           ? &LinearWindowAverage
                           : &WeightedWindowAverage;
  const absl::Duration now = absl::Seconds(now_s);
  TickRow row;
  row.time_s = now_s;
  row.ready_pods = ready_pods;
  row.stable_value = average(values_, window_end_s, stable_buckets_);
  row.panic_value = average(values_, window_end_s, panic_buckets_);
  const Decision d =
      decider_.Decide(now, row.stable_value, row.panic_value, ready_pods);
  last_decider_pods_ = d.desired_pods;
  row.decider_pods = d.desired_pods;
  row.panic_mode = d.panic_mode;
  row.excess_burst_capacity = d.excess_burst_capacity;
  row.excess_burst_capacity_saturated = d.excess_burst_capacity_saturated;
  row.desired_pods = scaler_.Apply(now, d.desired_pods, ready_pods);
  // The KPA proxies through the activator at zero scale, on negative EBC
  // and once the revision is marked inactive; with no ready endpoint the
  // serverless service keeps proxying too.
  row.activator_in_path = row.desired_pods == 0 || ready_pods == 0 ||
                          d.excess_burst_capacity < 0 || scaler_.inactive();
  scaler_.SetActivatorInPath(now, row.activator_in_path);
  return row;
}

const char kTicksCsvHeader[] =
    "time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,"
    "excess_burst_capacity,activator_in_path,decider_pods,poke\n";

std::string FormatTickRow(const TickRow& r) {
  return absl::StrFormat("%d,%d,%d,%d,%.3f,%.3f,%d,%d,%d,%d\n", r.time_s,
                         r.desired_pods, r.ready_pods, r.panic_mode ? 1 : 0,
                         r.stable_value, r.panic_value, r.excess_burst_capacity,
                         r.activator_in_path ? 1 : 0, r.decider_pods,
                         r.poke ? 1 : 0);
}

std::string FormatTicksCsv(const std::vector<TickRow>& rows) {
  std::string out = kTicksCsvHeader;
  for (const TickRow& r : rows) out += FormatTickRow(r);
  return out;
}

}  // namespace knbench::autoscaler_model
