// Settings of a revision autoscaled by Knative's HPA class, and the
// HorizontalPodAutoscaler (autoscaling/v2) that Knative makes from them.
//
// HpaConfig holds what a user sets: the revision's annotations (--metric,
// --target, --min-scale, --max-scale, --window), kube-controller-manager's
// HPA flags (--horizontal-pod-autoscaler-*), metrics-server's
// --metric-resolution and the pod's CPU request. Field names follow the
// flags, without the "horizontal-pod-autoscaler-" prefix. MakeHpaSpec turns
// them into the HPA object as the API server stores it (defaults applied).
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_CONFIG_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_CONFIG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace knbench::autoscaler_model {

enum class HpaMetric { kCpu, kMemory };

struct HpaConfig {
  // autoscaling.knative.dev/metric: cpu (the HPA class's default) or memory.
  HpaMetric metric = HpaMetric::kCpu;
  // autoscaling.knative.dev/target: CPU utilization in percent of the CPU
  // request, or memory in MiB per pod. Unset: Knative gives the HPA no
  // metric and the API's default applies (80 % CPU, whatever the metric).
  std::optional<double> target;
  // autoscaling.knative.dev/min-scale; 0 becomes minReplicas 1 (the HPA
  // class never scales to zero).
  int32_t min_scale = 0;
  // autoscaling.knative.dev/max-scale; 0 = no limit.
  int32_t max_scale = 0;
  // autoscaling.knative.dev/window: when set, the HPA's behavior gets it as
  // the scale-up and scale-down stabilization window.
  std::optional<absl::Duration> window;
  // kube-controller-manager --horizontal-pod-autoscaler-sync-period.
  absl::Duration sync_period = absl::Seconds(15);
  // --horizontal-pod-autoscaler-tolerance.
  double tolerance = 0.1;
  // --horizontal-pod-autoscaler-cpu-initialization-period.
  absl::Duration cpu_initialization_period = absl::Minutes(5);
  // --horizontal-pod-autoscaler-initial-readiness-delay.
  absl::Duration initial_readiness_delay = absl::Seconds(30);
  // --horizontal-pod-autoscaler-downscale-stabilization (used when the HPA
  // has no behavior).
  absl::Duration downscale_stabilization = absl::Minutes(5);
  // metrics-server --metric-resolution: how often pods' usage is sampled,
  // and so the window each CPU value covers.
  absl::Duration metric_resolution = absl::Seconds(15);
  // The pod's requests.cpu in millicores; 0 = none (the CPU metric needs
  // one, as Kubernetes does).
  int64_t cpu_request = 0;
};

// Checks ranges and names the offending setting by its flag (without the
// dashes), e.g. "horizontal-pod-autoscaler-tolerance: must be in [0, 1)".
absl::Status ValidateHpaConfig(const HpaConfig& config);

absl::string_view HpaMetricName(HpaMetric metric);
std::optional<HpaMetric> ParseHpaMetric(absl::string_view text);

// autoscaling/v2 HPAScalingPolicy and HPAScalingRules.
enum class ScalingPolicyType { kPods, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };

struct ScalingPolicy {
  ScalingPolicyType type = ScalingPolicyType::kPods;
  int32_t value = 0;
  absl::Duration period = absl::Seconds(15);
};

struct ScalingRules {
  // Unset (scale-down only): the controller's downscale stabilization.
  std::optional<absl::Duration> stabilization_window;
  SelectPolicy select_policy = SelectPolicy::kMax;
  std::vector<ScalingPolicy> policies;
};

struct HpaBehavior {
  ScalingRules scale_up;
  ScalingRules scale_down;
};

// The HorizontalPodAutoscaler Knative creates, with the API's defaults.
struct HpaSpec {
  HpaMetric metric = HpaMetric::kCpu;
  // CPU: averageUtilization, percent of the request.
  int32_t target_utilization = 0;
  // Memory: averageValue in milli-bytes (Kubernetes compares MilliValue()s).
  int64_t target_average_milli = 0;
  int32_t min_replicas = 1;
  int32_t max_replicas = 0;
  std::optional<HpaBehavior> behavior;
};

// The API's behavior defaults with `window` as both stabilization windows:
// scale-up policies 4 pods and 100 % per 15 s, selectPolicy Max; scale-down
// 100 % per 15 s.
HpaBehavior DefaultBehavior(absl::Duration window);

// `config` must pass ValidateHpaConfig.
HpaSpec MakeHpaSpec(const HpaConfig& config);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_CONFIG_H_
