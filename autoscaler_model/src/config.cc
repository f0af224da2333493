#include "knbench/autoscaler_model/config.h"

#include <algorithm>
#include <cmath>

#include "knbench/autoscaler_model/kpa_settings.h"

namespace knbench::autoscaler_model {

absl::Status ValidateConfig(const KpaConfig& c) {
  const SettingTable<KpaConfig>& table = KpaSettings();
  if (absl::Status st = CheckBounds(table.specs(), table.Read(c)); !st.ok()) {
    return st;
  }
  if (c.max_scale > 0 && c.max_scale < c.min_scale) {
    return absl::InvalidArgumentError(
        "max-scale: must be 0 (unlimited) or at least min-scale");
  }
  return absl::OkStatus();
}

ResolvedTarget ResolveTarget(const KpaConfig& c) {
  ResolvedTarget r;
  if (c.metric == Metric::kRps) {
    r.total = c.requests_per_second_target_default;
  } else {
    r.total = c.container_concurrency > 0
                  ? static_cast<double>(c.container_concurrency)
                  : c.container_concurrency_target_default;
  }
  if (c.target.has_value()) {
    r.total = *c.target;
    // A concurrency target above the hard limit could never be reached.
    if (c.metric == Metric::kConcurrency && c.container_concurrency > 0) {
      r.total = std::min(r.total, static_cast<double>(c.container_concurrency));
    }
  }
  r.target = std::max(0.01, r.total * c.target_utilization_percentage / 100.0);
  return r;
}

int64_t StableWindowBuckets(const KpaConfig& c) {
  return std::max<int64_t>(
      1, static_cast<int64_t>(
             std::ceil(absl::ToDoubleSeconds(c.stable_window) - 1e-9)));
}

int64_t PanicWindowBuckets(const KpaConfig& c) {
  const double seconds = absl::ToDoubleSeconds(c.stable_window) *
                         c.panic_window_percentage / 100.0;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds - 1e-9)));
}

absl::string_view MetricName(Metric metric) {
  return metric == Metric::kRps ? "rps" : "concurrency";
}

absl::string_view AggregationName(Aggregation aggregation) {
  return aggregation == Aggregation::kWeightedExponential
             ? "weighted-exponential"
             : "linear";
}

}  // namespace knbench::autoscaler_model
