#include "knbench/autoscaler_model/config.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace knbench::autoscaler_model {
namespace {

bool WholeSeconds(absl::Duration d) {
  return absl::Trunc(d, absl::Seconds(1)) == d;
}

absl::Status Invalid(absl::string_view key, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", why));
}

}  // namespace

absl::Status ValidateConfig(const KpaConfig& c) {
  for (const auto& [key, value] :
       {std::pair{"target", c.target.value_or(1)},
        {"target-utilization-percentage", c.target_utilization_percentage},
        {"container-concurrency-target-default",
         c.container_concurrency_target_default},
        {"requests-per-second-target-default",
         c.requests_per_second_target_default},
        {"panic-window-percentage", c.panic_window_percentage},
        {"panic-threshold-percentage", c.panic_threshold_percentage},
        {"max-scale-up-rate", c.max_scale_up_rate},
        {"max-scale-down-rate", c.max_scale_down_rate},
        {"target-burst-capacity", c.target_burst_capacity}}) {
    if (!std::isfinite(value)) return Invalid(key, "must be a finite number");
  }
  for (const auto& [key, value] : {std::pair{"min-scale", c.min_scale},
                                   {"max-scale", c.max_scale},
                                   {"initial-scale", c.initial_scale},
                                   {"activation-scale", c.activation_scale}}) {
    if (value > kMaxPodCount) {
      return Invalid(key, absl::StrCat("must be at most ", kMaxPodCount,
                                       " (the model's pod limit)"));
    }
  }
  if (c.stable_window < absl::Seconds(6) || c.stable_window > absl::Hours(1) ||
      !WholeSeconds(c.stable_window)) {
    return Invalid("window", "must be whole seconds between 6s and 1h");
  }
  if (!(c.panic_window_percentage >= 1 && c.panic_window_percentage <= 100)) {
    return Invalid("panic-window-percentage", "must be in [1, 100]");
  }
  if (!(c.panic_threshold_percentage >= 110 &&
        c.panic_threshold_percentage <= 1000)) {
    return Invalid("panic-threshold-percentage", "must be in [110, 1000]");
  }
  if (!(c.target_utilization_percentage >= 1 &&
        c.target_utilization_percentage <= 100)) {
    return Invalid("target-utilization-percentage", "must be in [1, 100]");
  }
  if (c.target.has_value() && !(*c.target >= 0.01)) {
    return Invalid("target", "must be at least 0.01");
  }
  if (!(c.container_concurrency_target_default >= 0.01)) {
    return Invalid("container-concurrency-target-default",
                   "must be at least 0.01");
  }
  if (!(c.requests_per_second_target_default >= 0.01)) {
    return Invalid("requests-per-second-target-default",
                   "must be at least 0.01");
  }
  if (c.container_concurrency < 0 || c.container_concurrency > 1000) {
    return Invalid("containerConcurrency", "must be in [0, 1000]");
  }
  if (!(c.max_scale_up_rate > 1)) {
    return Invalid("max-scale-up-rate", "must be greater than 1");
  }
  if (!(c.max_scale_down_rate > 1)) {
    return Invalid("max-scale-down-rate", "must be greater than 1");
  }
  if (!(c.target_burst_capacity >= 0 || c.target_burst_capacity == -1)) {
    return Invalid("target-burst-capacity", "must be -1 or at least 0");
  }
  if (c.min_scale < 0) return Invalid("min-scale", "must be at least 0");
  if (c.max_scale < 0) return Invalid("max-scale", "must be at least 0");
  if (c.max_scale > 0 && c.max_scale < c.min_scale) {
    return Invalid("max-scale", "must be 0 (unlimited) or at least min-scale");
  }
  if (c.initial_scale < 0) return Invalid("initial-scale", "must be >= 0");
  if (c.activation_scale < 1) {
    return Invalid("activation-scale", "must be at least 1");
  }
  if (c.scale_down_delay < absl::ZeroDuration() ||
      c.scale_down_delay > absl::Hours(1) ||
      !WholeSeconds(c.scale_down_delay)) {
    return Invalid("scale-down-delay",
                   "must be whole seconds between 0s and 1h");
  }
  if (c.scale_to_zero_grace_period < absl::Seconds(6)) {
    return Invalid("scale-to-zero-grace-period", "must be at least 6s");
  }
  if (c.tick_interval < absl::Seconds(1) || !WholeSeconds(c.tick_interval)) {
    return Invalid("tick-interval", "must be whole seconds, at least 1s");
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

std::optional<Metric> ParseMetric(absl::string_view text) {
  if (text == "concurrency") return Metric::kConcurrency;
  if (text == "rps") return Metric::kRps;
  return std::nullopt;
}

absl::string_view AggregationName(Aggregation aggregation) {
  return aggregation == Aggregation::kWeightedExponential
             ? "weighted-exponential"
             : "linear";
}

std::optional<Aggregation> ParseAggregation(absl::string_view text) {
  if (text == "linear") return Aggregation::kLinear;
  if (text == "weightedExponential" || text == "weighted-exponential") {
    return Aggregation::kWeightedExponential;
  }
  return std::nullopt;
}

}  // namespace knbench::autoscaler_model
