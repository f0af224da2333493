#include "knbench/local_serving/hpa_metrics.h"

#include "absl/strings/str_cat.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;

// kube-state-metrics' names and help.
constexpr char kPrefix[] = "kube_horizontalpodautoscaler_";

prometheus::Family<prometheus::Gauge>& Family(prometheus::Registry& registry,
                                              const char* name,
                                              const char* help) {
  return prometheus::BuildGauge()
      .Name(absl::StrCat(kPrefix, name))
      .Help(help)
      .Register(registry);
}

}  // namespace

HpaMetrics::HpaMetrics(prometheus::Registry& registry,
                       const std::string& namespace_name,
                       const std::string& hpa_name, const am::HpaSpec& spec)
    : labels_{{"namespace", namespace_name},
              {"horizontalpodautoscaler", hpa_name}},
      metric_name_(am::HpaMetricName(spec.metric)) {
  Family(registry, "spec_min_replicas",
         "Lower limit for the number of pods that can be set by the "
         "autoscaler, default 1.")
      .Add(labels_)
      .Set(spec.min_replicas);
  Family(registry, "spec_max_replicas",
         "Upper limit for the number of pods that can be set by the "
         "autoscaler; cannot be smaller than MinReplicas.")
      .Add(labels_)
      .Set(spec.max_replicas);
  auto target_labels = labels_;
  target_labels["metric_name"] = metric_name_;
  const bool cpu = spec.metric == am::HpaMetric::kCpu;
  target_labels["metric_target_type"] = cpu ? "utilization" : "average";
  Family(registry, "spec_target_metric",
         "The metric specifications used by this autoscaler when "
         "calculating the desired replica count.")
      .Add(target_labels)
      .Set(cpu ? spec.target_utilization
               : static_cast<double>(spec.target_average_milli / 1000));
  desired_ = &Family(registry, "status_desired_replicas",
                     "Desired number of replicas of pods managed by this "
                     "autoscaler.")
                  .Add(labels_);
  current_ = &Family(registry, "status_current_replicas",
                     "Current number of replicas of pods managed by this "
                     "autoscaler.")
                  .Add(labels_);
  status_target_ = &Family(registry, "status_target_metric",
                           "The current metric status used by this autoscaler "
                           "when calculating the desired replica count.");
}

void HpaMetrics::SetStatusTarget(const char* type, double value) {
  auto labels = labels_;
  labels["metric_name"] = metric_name_;
  labels["metric_target_type"] = type;
  status_target_->Add(labels).Set(value);
}

void HpaMetrics::OnSync(const am::HpaRow& row) {
  desired_->Set(row.desired_pods);
  current_->Set(row.current_pods);
  if (row.utilization_percent.has_value()) {
    SetStatusTarget("utilization", *row.utilization_percent);
  }
  if (row.average_value.has_value()) {
    // The HPA's averageValue: millicores for cpu (kube-state-metrics shows
    // cores), bytes for memory.
    const bool cpu = metric_name_ == "cpu";
    SetStatusTarget("average", cpu ? *row.average_value / 1000.0
                                   : static_cast<double>(*row.average_value));
  }
}

}  // namespace knbench::local_serving
