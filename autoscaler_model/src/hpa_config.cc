#include "knbench/autoscaler_model/hpa_config.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {
namespace {

// Keep sums over kMaxPodCount pods within int64: a CPU target of a million
// percent, a memory target of 256 GiB, a CPU request of a thousand cores.
constexpr int64_t kMaxCpuTarget = 1'000'000;
constexpr int64_t kMaxMemoryTarget = 262'144;
constexpr int64_t kMaxCpuRequest = 1'000'000;
constexpr int64_t kBytesPerMiB = 1024 * 1024;
// Without a target Knative's HPA has no metric; the API server then sets
// 80 % CPU (autoscaling/v2 DefaultCPUUtilization).
constexpr int32_t kDefaultCpuUtilization = 80;

absl::Status Invalid(absl::string_view key, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", why));
}

bool WholeMillis(absl::Duration d) {
  return absl::Trunc(d, absl::Milliseconds(1)) == d;
}

absl::Status CheckTarget(const HpaConfig& c) {
  if (!c.target.has_value()) return absl::OkStatus();
  const double t = *c.target;
  if (!std::isfinite(t)) return Invalid("target", "must be a finite number");
  // Knative truncates a memory target to whole MiB, and Kubernetes rejects
  // an averageValue of 0.
  const bool memory = c.metric == HpaMetric::kMemory;
  const double low = memory ? 1 : 0.01;
  const int64_t high = memory ? kMaxMemoryTarget : kMaxCpuTarget;
  if (t < low || t > static_cast<double>(high)) {
    return Invalid(
        "target", absl::StrCat("must be in [", low, ", ", high, "] for metric ",
                               HpaMetricName(c.metric)));
  }
  return absl::OkStatus();
}

absl::Status CheckScale(const HpaConfig& c) {
  for (const auto& [key, value] :
       {std::pair{"min-scale", c.min_scale}, {"max-scale", c.max_scale}}) {
    if (value < 0 || value > kMaxPodCount) {
      return Invalid(key, absl::StrCat("must be in [0, ", kMaxPodCount,
                                       "] (the model's pod limit)"));
    }
  }
  if (c.max_scale > 0 && c.max_scale < c.min_scale) {
    return Invalid("max-scale", "must be 0 (unlimited) or at least min-scale");
  }
  return absl::OkStatus();
}

absl::Status CheckDurations(const HpaConfig& c) {
  if (c.window.has_value() &&
      (*c.window < absl::Seconds(6) || *c.window > absl::Hours(1) ||
       absl::Trunc(*c.window, absl::Seconds(1)) != *c.window)) {
    return Invalid("window", "must be whole seconds between 6s and 1h");
  }
  for (const auto& [key, value] :
       {std::pair{"horizontal-pod-autoscaler-sync-period", c.sync_period},
        {"metric-resolution", c.metric_resolution}}) {
    if (value < absl::Seconds(1) || value > absl::Hours(1) ||
        !WholeMillis(value)) {
      return Invalid(key, "must be whole milliseconds between 1s and 1h");
    }
  }
  for (const auto& [key, value] :
       {std::pair{"horizontal-pod-autoscaler-cpu-initialization-period",
                  c.cpu_initialization_period},
        {"horizontal-pod-autoscaler-initial-readiness-delay",
         c.initial_readiness_delay},
        {"horizontal-pod-autoscaler-downscale-stabilization",
         c.downscale_stabilization}}) {
    if (value < absl::ZeroDuration() || value > absl::Hours(24)) {
      return Invalid(key, "must be between 0s and 24h");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateHpaConfig(const HpaConfig& c) {
  if (absl::Status s = CheckTarget(c); !s.ok()) return s;
  if (absl::Status s = CheckScale(c); !s.ok()) return s;
  if (absl::Status s = CheckDurations(c); !s.ok()) return s;
  if (!(c.tolerance >= 0 && c.tolerance < 1)) {
    return Invalid("horizontal-pod-autoscaler-tolerance", "must be in [0, 1)");
  }
  if (c.cpu_request < 0 || c.cpu_request > kMaxCpuRequest) {
    return Invalid("cpu-request", absl::StrCat("must be in [0, ",
                                               kMaxCpuRequest, "] millicores"));
  }
  if (MakeHpaSpec(c).metric == HpaMetric::kCpu && c.cpu_request == 0) {
    return Invalid("cpu-request",
                   "the cpu metric needs the pods' CPU request in millicores");
  }
  return absl::OkStatus();
}

absl::string_view HpaMetricName(HpaMetric metric) {
  return metric == HpaMetric::kMemory ? "memory" : "cpu";
}

std::optional<HpaMetric> ParseHpaMetric(absl::string_view text) {
  if (text == "cpu") return HpaMetric::kCpu;
  if (text == "memory") return HpaMetric::kMemory;
  return std::nullopt;
}

HpaBehavior DefaultBehavior(absl::Duration window) {
  const absl::Duration period = absl::Seconds(15);
  HpaBehavior b;
  b.scale_up = {window,
                SelectPolicy::kMax,
                {{ScalingPolicyType::kPods, 4, period},
                 {ScalingPolicyType::kPercent, 100, period}}};
  b.scale_down = {
      window, SelectPolicy::kMax, {{ScalingPolicyType::kPercent, 100, period}}};
  return b;
}

HpaSpec MakeHpaSpec(const HpaConfig& c) {
  HpaSpec spec;
  if (!c.target.has_value()) {
    spec.metric = HpaMetric::kCpu;
    spec.target_utilization = kDefaultCpuUtilization;
  } else if (c.metric == HpaMetric::kCpu) {
    spec.target_utilization = static_cast<int32_t>(std::ceil(*c.target));
  } else {
    spec.metric = HpaMetric::kMemory;
    // Knative: int64(target) MiB; Kubernetes compares milli-units.
    spec.target_average_milli =
        static_cast<int64_t>(*c.target) * kBytesPerMiB * 1000;
  }
  spec.min_replicas = c.min_scale > 0 ? c.min_scale : 1;
  spec.max_replicas =
      c.max_scale > 0 ? c.max_scale : std::numeric_limits<int32_t>::max();
  if (c.window.has_value()) spec.behavior = DefaultBehavior(*c.window);
  return spec;
}

}  // namespace knbench::autoscaler_model
