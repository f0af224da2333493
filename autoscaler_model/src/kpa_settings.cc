#include "knbench/autoscaler_model/kpa_settings.h"

#include <vector>

#include "knbench/autoscaler_model/autoscaler_class.h"

namespace knbench::autoscaler_model {
namespace {

using Spec = SettingSpec;
using T = SettingType;

// The rows, one per setting, in groups. Keys, defaults and bounds are
// Knative's (pkg/autoscaler/config and the autoscaling annotations'
// validation), except the pod limit.
using C = KpaConfig;

// What the autoscaler measures and aims for per pod.
std::vector<Setting<C>> TargetRows() {
  return {
      EnumField(Spec::Of(T::kEnum, "metric")
                    .Annotation("metric")
                    .Default("concurrency")
                    .Help("what the autoscaler scales on, per pod: requests "
                          "in flight or requests per second."),
                &C::metric, {Metric::kConcurrency, Metric::kRps}, MetricName),
      Field(Spec::Of(T::kDouble, "target")
                .Annotation("target")
                .UnsetBy("0")
                .Within(Bounds::AtLeast(0.01))
                .Help("the target per pod; 0 = the metric's default "
                      "(container-concurrency-target-default, or "
                      "requests-per-second-target-default), capped by "
                      "--container-concurrency."),
            &C::target),
      Field(Spec::Of(T::kDouble, "target_utilization_percentage")
                .Annotation("target-utilization-percentage")
                .Default(70.0)
                .Within(Bounds::In(1, 100))
                .Help("the autoscaler aims for target x this / 100 per pod."),
            &C::target_utilization_percentage),
      Field(Spec::Of(T::kInt64, "container_concurrency")
                .RevisionSpec("containerConcurrency")
                .Default(int64_t{0})
                .Within(Bounds::In(0, 1000))
                .Help("hard limit of requests in flight per pod; 0 = "
                      "unlimited."),
            &C::container_concurrency),
      Field(Spec::Of(T::kDouble, "container_concurrency_target_default")
                .ConfigMap("container-concurrency-target-default")
                .Default(100.0)
                .Within(Bounds::AtLeast(0.01))
                .Help("the concurrency target when there is no target."),
            &C::container_concurrency_target_default),
      Field(Spec::Of(T::kDouble, "requests_per_second_target_default")
                .ConfigMap("requests-per-second-target-default")
                .Default(200.0)
                .Within(Bounds::AtLeast(0.01))
                .Help("the rps target when there is no target."),
            &C::requests_per_second_target_default),
  };
}

// How it averages and decides: windows, panic, ticks.
std::vector<Setting<C>> WindowRows() {
  return {
      Field(Spec::Of(T::kDuration, "window")
                .Annotation("window")
                .Default(absl::Seconds(60))
                .Within(Bounds::In(6, 3600).WholeSeconds())
                .Help("the stable window."),
            &C::stable_window),
      Field(Spec::Of(T::kDouble, "panic_window_percentage")
                .Annotation("panic-window-percentage")
                .Default(10.0)
                .Within(Bounds::In(1, 100))
                .Help("the panic window, in % of the stable window."),
            &C::panic_window_percentage),
      Field(Spec::Of(T::kDouble, "panic_threshold_percentage")
                .Annotation("panic-threshold-percentage")
                .Default(200.0)
                .Within(Bounds::In(110, 1000))
                .Help("panic when the panic window's pods reach this % of "
                      "the ready pods."),
            &C::panic_threshold_percentage),
      EnumField(Spec::Of(T::kEnum, "metric_aggregation_algorithm")
                    .Annotation("metric-aggregation-algorithm")
                    .Default("linear")
                    .ValueAlias("weightedExponential", "weighted-exponential")
                    .Help("how a window averages its 1 s buckets."),
                &C::aggregation,
                {Aggregation::kLinear, Aggregation::kWeightedExponential},
                AggregationName),
      Field(Spec::Of(T::kDuration, "tick_interval")
                .ConfigMap("tick-interval")
                .Default(absl::Seconds(2))
                .Within(Bounds::AtLeast(1).WholeSeconds())
                .Help("time between decisions."),
            &C::tick_interval),
  };
}

// How far and how fast the scale may move.
std::vector<Setting<C>> ScaleRows() {
  return {
      Field(MinScaleSpec().Help("least pods."), &C::min_scale),
      Field(MaxScaleSpec().Help("most pods; 0 = unlimited."), &C::max_scale),
      Field(Spec::Of(T::kInt32, "initial_scale")
                .Annotation("initial-scale", {"initialScale"})
                .Default(int64_t{1})
                .Within(PodCountBounds(0))
                .Help("pods at start, held until reached once."),
            &C::initial_scale),
      Field(Spec::Of(T::kInt32, "activation_scale")
                .Annotation("activation-scale")
                .Default(int64_t{1})
                .Within(PodCountBounds(1))
                .Help("least pods when scaling up from zero."),
            &C::activation_scale),
      Field(Spec::Of(T::kDouble, "max_scale_up_rate")
                .ConfigMap("max-scale-up-rate")
                .Default(1000.0)
                .Within(Bounds::GreaterThan(1))
                .Help("at most ceil(rate x ready) pods."),
            &C::max_scale_up_rate),
      Field(Spec::Of(T::kDouble, "max_scale_down_rate")
                .ConfigMap("max-scale-down-rate")
                .Default(2.0)
                .Within(Bounds::GreaterThan(1))
                .Help("at least floor(ready / rate) pods."),
            &C::max_scale_down_rate),
      Field(Spec::Of(T::kDuration, "scale_down_delay")
                .Annotation("scale-down-delay")
                .Default(absl::ZeroDuration())
                .Within(Bounds::In(0, 3600).WholeSeconds())
                .Help("scale down only to the max of the decisions over this "
                      "long."),
            &C::scale_down_delay),
  };
}

// The activator and scale to zero.
std::vector<Setting<C>> ZeroRows() {
  return {
      Field(Spec::Of(T::kDouble, "target_burst_capacity")
                .Annotation("target-burst-capacity")
                .Default(211.0)
                .Within(Bounds::AtLeast(0).Or(-1))
                .Help("-1 = activator always in the path, 0 = only at zero "
                      "scale."),
            &C::target_burst_capacity),
      Field(Spec::Of(T::kDuration, "scale_to_zero_grace_period")
                .ConfigMap("scale-to-zero-grace-period")
                .Default(absl::Seconds(30))
                .Within(Bounds::AtLeast(6))
                .Help("how long the activator is in the path before the last "
                      "pod goes."),
            &C::scale_to_zero_grace_period),
      Field(Spec::Of(T::kBool, "enable_scale_to_zero")
                .ConfigMap("enable-scale-to-zero")
                .Default(true)
                .Help("whether the revision may go to zero pods."),
            &C::enable_scale_to_zero),
      Field(Spec::Of(T::kBool, "reachable")
                .Default(true)
                .Help("Whether a route points at the revision; unreachable "
                      "revisions ignore min-scale and scale down without "
                      "rate limit."),
            &C::reachable),
  };
}

}  // namespace

const SettingTable<KpaConfig>& KpaSettings() {
  static const auto* table = new SettingTable<KpaConfig>(JoinRows<KpaConfig>(
      {TargetRows(), WindowRows(), ScaleRows(), ZeroRows()}));
  return *table;
}

// The defaults are the table's, so each is written once.
KpaConfig::KpaConfig() { KpaSettings().ApplyDefaults(this); }

}  // namespace knbench::autoscaler_model
