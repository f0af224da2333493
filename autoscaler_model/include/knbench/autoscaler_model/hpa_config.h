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

// Limits that keep sums over kMaxPodCount pods within int64: a CPU target of
// a million percent, a memory target of 256 GiB, a CPU request of a
// thousand cores.
inline constexpr int64_t kMaxHpaCpuTarget = 1'000'000;
inline constexpr int64_t kMaxHpaMemoryTarget = 262'144;  // MiB
inline constexpr int64_t kMaxHpaCpuRequest = 1'000'000;  // millicores

// Every field is a setting of the HPA's table (hpa_settings.cc), which
// holds its flag, bounds and default: a default-constructed config has the
// defaults given here.
struct HpaConfig {
  HpaConfig();

  // autoscaling.knative.dev/metric: cpu (the HPA class's default) or memory.
  HpaMetric metric;
  // autoscaling.knative.dev/target: CPU utilization in percent of the CPU
  // request, or memory in MiB per pod. Unset (the default): Knative gives
  // the HPA no metric and the API's default applies (80 % CPU, whatever the
  // metric).
  std::optional<double> target;
  // autoscaling.knative.dev/min-scale (default 0); 0 becomes minReplicas 1
  // (the HPA class never scales to zero).
  int32_t min_scale;
  // autoscaling.knative.dev/max-scale; 0 (the default) = no limit.
  int32_t max_scale;
  // autoscaling.knative.dev/window (unset by default): when set, the HPA's
  // behavior gets it as the scale-up and scale-down stabilization window.
  std::optional<absl::Duration> window;
  // kube-controller-manager --horizontal-pod-autoscaler-sync-period (15s).
  absl::Duration sync_period;
  // --horizontal-pod-autoscaler-tolerance (0.1).
  double tolerance;
  // --horizontal-pod-autoscaler-cpu-initialization-period (5m).
  absl::Duration cpu_initialization_period;
  // --horizontal-pod-autoscaler-initial-readiness-delay (30s).
  absl::Duration initial_readiness_delay;
  // --horizontal-pod-autoscaler-downscale-stabilization (5m; used when the
  // HPA has no behavior).
  absl::Duration downscale_stabilization;
  // metrics-server --metric-resolution (15s): how often pods' usage is
  // sampled, and so the window each CPU value covers.
  absl::Duration metric_resolution;
  // The pod's requests.cpu in millicores; 0 (the default) = none (the CPU
  // metric needs one, as Kubernetes does).
  int64_t cpu_request;
};

// Checks each setting's bounds from the table, naming it by its flag
// without the dashes ("horizontal-pod-autoscaler-tolerance: must be in
// [0, 1)"), then the rules between settings: a memory target in [1,
// 262144] MiB, max-scale 0 or at least min-scale, and a CPU request for the
// cpu metric.
absl::Status ValidateHpaConfig(const HpaConfig& config);

// cpu, memory: the spellings of the flag and annotation.
absl::string_view HpaMetricName(HpaMetric metric);

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
