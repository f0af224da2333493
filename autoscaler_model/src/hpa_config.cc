#include "knbench/autoscaler_model/hpa_config.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/hpa_settings.h"

namespace knbench::autoscaler_model {
namespace {

constexpr int64_t kBytesPerMiB = 1024 * 1024;
// Without a target Knative's HPA has no metric; the API server then sets
// 80 % CPU (autoscaling/v2 DefaultCPUUtilization).
constexpr int32_t kDefaultCpuUtilization = 80;

absl::Status Invalid(absl::string_view key, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", why));
}

}  // namespace

absl::Status ValidateHpaConfig(const HpaConfig& c) {
  const SettingTable<HpaConfig>& table = HpaSettings();
  if (absl::Status st = CheckBounds(table.specs(), table.Read(c)); !st.ok()) {
    return st;
  }
  // Knative truncates a memory target to whole MiB, and Kubernetes rejects
  // an averageValue of 0.
  if (c.metric == HpaMetric::kMemory && c.target.has_value() &&
      (*c.target < 1 || *c.target > kMaxHpaMemoryTarget)) {
    return Invalid("target",
                   absl::StrCat("must be in [1, ", kMaxHpaMemoryTarget,
                                "] for metric memory"));
  }
  if (c.max_scale > 0 && c.max_scale < c.min_scale) {
    return Invalid("max-scale", "must be 0 (unlimited) or at least min-scale");
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
