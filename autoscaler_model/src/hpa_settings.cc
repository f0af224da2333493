#include "knbench/autoscaler_model/hpa_settings.h"

#include <vector>

#include "knbench/autoscaler_model/autoscaler_class.h"

namespace knbench::autoscaler_model {
namespace {

using Spec = SettingSpec;
using T = SettingType;
using C = HpaConfig;

constexpr const char* kControllerManager = "kube-controller-manager";
constexpr double kDaySeconds = 24 * 3600;

// The revision's annotations, as Knative turns them into the HPA object
// (pkg/reconciler/autoscaling/hpa/resources/hpa.go).
std::vector<Setting<C>> RevisionRows() {
  return {
      EnumField(Spec::Of(T::kEnum, "metric")
                    .Annotation("metric")
                    .Default("cpu")
                    .Help("what the HPA scales on: CPU utilization in percent "
                          "of the pods' CPU request, or memory (working set) "
                          "per pod."),
                &C::metric, {HpaMetric::kCpu, HpaMetric::kMemory},
                HpaMetricName),
      // The memory target's own bounds are a rule beside the table.
      Field(Spec::Of(T::kDouble, "target")
                .Annotation("target")
                .UnsetBy("0")
                .Within(Bounds::In(0.01, kMaxHpaCpuTarget))
                .Help("cpu: the utilization in percent of the CPU request "
                      "(averageUtilization = ceil(target)); memory: MiB per "
                      "pod (averageValue, 1 to 262144). 0 = unset: the HPA "
                      "gets no metric and the API's default, 80 % CPU, "
                      "applies."),
            &C::target),
      Field(MinScaleSpec().Help("least pods; 0 is minReplicas 1 (the HPA "
                                "class never scales to zero)."),
            &C::min_scale),
      Field(MaxScaleSpec().Help("most pods; 0 = no limit."), &C::max_scale),
      Field(Spec::Of(T::kDuration, "window")
                .Annotation("window")
                .UnsetBy("0")
                .Within(Bounds::In(6, 3600).WholeSeconds())
                .Help("gives the HPA a behavior with this scale-up and "
                      "scale-down stabilization window (and the API's "
                      "default policies); 0 = unset: no behavior, the "
                      "controller's downscale stabilization applies."),
            &C::window),
  };
}

// kube-controller-manager's HPA flags, metrics-server's resolution and the
// pods' CPU request.
std::vector<Setting<C>> ControllerRows() {
  return {
      Field(Spec::Of(T::kDuration, "horizontal_pod_autoscaler_sync_period")
                .ComponentFlag(kControllerManager)
                .Default(absl::Seconds(15))
                .Within(Bounds::In(1, 3600).WholeMilliseconds())
                .Help("time between the HPA's syncs."),
            &C::sync_period),
      Field(Spec::Of(T::kDouble, "horizontal_pod_autoscaler_tolerance")
                .ComponentFlag(kControllerManager)
                .Default(0.1)
                .Within(Bounds::InHalfOpen(0, 1))
                .Help("no change while the metric's ratio to its target is "
                      "within 1 - tolerance .. 1 + tolerance."),
            &C::tolerance),
      Field(Spec::Of(T::kDuration,
                     "horizontal_pod_autoscaler_cpu_initialization_period")
                .ComponentFlag(kControllerManager)
                .Default(absl::Minutes(5))
                .Within(Bounds::In(0, kDaySeconds))
                .Help("a pod this young counts for CPU only when ready, with "
                      "a metric taken a metric resolution after that."),
            &C::cpu_initialization_period),
      Field(Spec::Of(T::kDuration,
                     "horizontal_pod_autoscaler_initial_readiness_delay")
                .ComponentFlag(kControllerManager)
                .Default(absl::Seconds(30))
                .Within(Bounds::In(0, kDaySeconds))
                .Help("after the CPU initialization period, an unready pod "
                      "is left out if it has never been ready (its readiness "
                      "last changed within this of its start)."),
            &C::initial_readiness_delay),
      Field(Spec::Of(T::kDuration,
                     "horizontal_pod_autoscaler_downscale_stabilization")
                .ComponentFlag(kControllerManager)
                .Default(absl::Minutes(5))
                .Within(Bounds::In(0, kDaySeconds))
                .Help("without a behavior: scale down only to the highest "
                      "recommendation of this long."),
            &C::downscale_stabilization),
      Field(Spec::Of(T::kDuration, "metric_resolution")
                .ComponentFlag("metrics-server")
                .Default(absl::Seconds(15))
                .Within(Bounds::In(1, 3600).WholeMilliseconds())
                .Help("how often the pods' usage is sampled, and so the "
                      "window each CPU value covers."),
            &C::metric_resolution),
      Field(Spec::Of(T::kInt64, "cpu_request")
                .ContainerResource("requests.cpu")
                .Default(int64_t{0})
                .Within(Bounds::In(0, kMaxHpaCpuRequest))
                .Help("the pods' CPU request in millicores, which CPU "
                      "utilization is a percentage of; 0 = none (the cpu "
                      "metric needs one)."),
            &C::cpu_request),
  };
}

}  // namespace

const SettingTable<HpaConfig>& HpaSettings() {
  static const auto* table = new SettingTable<HpaConfig>(
      JoinRows<HpaConfig>({RevisionRows(), ControllerRows()}));
  return *table;
}

// The defaults are the table's, so each is written once.
HpaConfig::HpaConfig() { HpaSettings().ApplyDefaults(this); }

}  // namespace knbench::autoscaler_model
