// kube-state-metrics' series of the revision's HorizontalPodAutoscaler
// under the hpa class, with its labels: namespace, horizontalpodautoscaler
// (the revision's name, as Knative names the HPA), and for the target
// metric series metric_name (cpu, memory) and metric_target_type
// (utilization: percent of the CPU request; average: cores for cpu, bytes
// for memory):
//   kube_horizontalpodautoscaler_spec_min_replicas, _spec_max_replicas,
//   _spec_target_metric (the HPA's target), _status_desired_replicas,
//   _status_current_replicas, _status_target_metric (what the last sync
//   measured; absent until one did, as the HPA's status has no current
//   metric before).
#ifndef KNBENCH_LOCAL_SERVING_HPA_METRICS_H_
#define KNBENCH_LOCAL_SERVING_HPA_METRICS_H_

#include <map>
#include <string>

#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_controller.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace knbench::local_serving {

class HpaMetrics {
 public:
  HpaMetrics(prometheus::Registry& registry, const std::string& namespace_name,
             const std::string& hpa_name,
             const autoscaler_model::HpaSpec& spec);

  // The HPA's status after a sync.
  void OnSync(const autoscaler_model::HpaRow& row);

 private:
  // The status target metric of `type`, made at its first value.
  void SetStatusTarget(const char* type, double value);

  std::map<std::string, std::string> labels_;
  const std::string metric_name_;
  prometheus::Gauge* desired_;
  prometheus::Gauge* current_;
  prometheus::Family<prometheus::Gauge>* status_target_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_HPA_METRICS_H_
