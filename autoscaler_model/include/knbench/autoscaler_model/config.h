// Settings of one KPA-scaled revision, named after Knative's config-autoscaler
// keys and autoscaling.knative.dev/* annotations, with Knative's defaults.
#ifndef KNBENCH_AUTOSCALER_MODEL_CONFIG_H_
#define KNBENCH_AUTOSCALER_MODEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace knbench::autoscaler_model {

// The largest pod count the model handles: min/max/initial/activation-scale
// above it are rejected, and the decider never asks for more. Knative itself
// has no default limit (config-autoscaler max-scale-limit sets one); this one
// keeps a typo such as min-scale 2147483647 from exhausting memory.
inline constexpr int32_t kMaxPodCount = 10000;

enum class Metric { kConcurrency, kRps };
// autoscaling.knative.dev/metric-aggregation-algorithm: linear (default) or
// weighted-exponential (also spelled weightedExponential).
enum class Aggregation { kLinear, kWeightedExponential };

struct KpaConfig {
  Metric metric = Metric::kConcurrency;
  // autoscaling.knative.dev/target; unset means "use the default for the
  // metric" (container-concurrency-target-default or
  // requests-per-second-target-default).
  std::optional<double> target;
  double target_utilization_percentage = 70;
  // spec.template.spec.containerConcurrency; 0 = unlimited.
  int64_t container_concurrency = 0;
  double container_concurrency_target_default = 100;
  double requests_per_second_target_default = 200;
  absl::Duration stable_window = absl::Seconds(60);
  double panic_window_percentage = 10;
  double panic_threshold_percentage = 200;
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  // -1 = activator always in the path, 0 = only when scaled to zero.
  double target_burst_capacity = 211;
  int32_t min_scale = 0;
  int32_t max_scale = 0;  // 0 = unlimited
  int32_t initial_scale = 1;
  int32_t activation_scale = 1;
  absl::Duration scale_down_delay = absl::ZeroDuration();
  absl::Duration scale_to_zero_grace_period = absl::Seconds(30);
  bool enable_scale_to_zero = true;
  // A revision no route points at: min-scale is ignored and scale-down is not
  // rate limited.
  bool reachable = true;
  Aggregation aggregation = Aggregation::kLinear;
  absl::Duration tick_interval = absl::Seconds(2);
};

// Checks the ranges Knative's validation enforces (window 6s..1h in whole
// seconds, rates > 1, panic threshold 110..1000 %, ...), that every number is
// finite, and that pod counts are at most kMaxPodCount. The message names the
// offending setting by its Knative key.
absl::Status ValidateConfig(const KpaConfig& config);

// The per-pod value the autoscaler aims for (target x utilization, at least
// 0.01) and the per-pod capacity used for excess burst capacity.
struct ResolvedTarget {
  double target = 0;
  double total = 0;
};
ResolvedTarget ResolveTarget(const KpaConfig& config);

// Window lengths in whole 1 s buckets.
int64_t StableWindowBuckets(const KpaConfig& config);
int64_t PanicWindowBuckets(const KpaConfig& config);

absl::string_view MetricName(Metric metric);
std::optional<Metric> ParseMetric(absl::string_view text);
// The flag's spelling: linear or weighted-exponential.
absl::string_view AggregationName(Aggregation aggregation);
std::optional<Aggregation> ParseAggregation(absl::string_view text);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_CONFIG_H_
