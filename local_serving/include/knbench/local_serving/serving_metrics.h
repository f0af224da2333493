// Local serving's metrics, under Knative's own names and labels so that the
// cluster's dashboard and queries work unchanged:
// - the autoscaler's: desired/requested/actual/not-ready/pending/
//   terminating pods, and under the KPA per decision panic mode, excess
//   burst capacity, stable and panic concurrency (or rps) and the target
//   per pod (under the HPA class Knative's autoscaler exports none of its
//   series; the pod counts are kept so the same plots work); Knative <= 1.18
//   (OpenCensus: autoscaler_*, labels namespace_name, service_name,
//   configuration_name, revision_name) or >= 1.19 (OpenTelemetry:
//   kn_revision_*, labels k8s_namespace_name, kn_service_name,
//   kn_configuration_name, kn_revision_name);
// - the activator's request concurrency, and with OpenCensus names its
//   request count and latencies;
// - our own local_serving_* series, the same in both modes.
#ifndef KNBENCH_LOCAL_SERVING_SERVING_METRICS_H_
#define KNBENCH_LOCAL_SERVING_SERVING_METRICS_H_

#include <array>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "knbench/autoscaler_model/autoscaler.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/common/grpc_codes.h"
#include "knbench/local_serving/pod_manager.h"
#include "knbench/local_serving/router.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace knbench::local_serving {

enum class MetricNames { kOpenCensus, kOtel };
std::optional<MetricNames> ParseMetricNames(absl::string_view text);

struct RevisionLabels {
  std::string namespace_name = "default";
  std::string service_name = "worker";
  std::string configuration_name = "worker";
  std::string revision_name = "worker-00001";
};

class ServingMetrics : public RouterObserver {
 public:
  // `kpa_metric`: the KPA's metric; nothing under the HPA class.
  ServingMetrics(prometheus::Registry& registry, MetricNames names,
                 const RevisionLabels& labels,
                 std::optional<autoscaler_model::Metric> kpa_metric);

  // The KPA's decision.
  void OnDecision(const autoscaler_model::TickRow& row, double target_per_pod);
  // The HPA's: its desired replicas and the scale applied.
  void OnScale(int32_t desired, int32_t requested);
  void OnPods(const PodCounts& pods);
  void OnRouter(const Router::Snapshot& router);
  void OnCallDone(grpc::StatusCode code, bool via_activator,
                  bool answered_by_pod, absl::Duration latency) override;

 private:
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help);
  // Knative's name: the OpenCensus one (Knative <= 1.18) or the
  // OpenTelemetry one (>= 1.19).
  std::string Named(const char* opencensus, const char* otel) const;
  void RegisterPodCounts();
  void RegisterKpaDecision(autoscaler_model::Metric metric);
  void RegisterActivator();
  void RegisterOwn();  // local_serving_*, the same in both

  prometheus::Registry& registry_;
  const bool otel_;
  std::map<std::string, std::string> labels_;
  // Autoscaler.
  prometheus::Gauge* desired_;
  prometheus::Gauge* requested_;
  prometheus::Gauge* actual_;
  prometheus::Gauge* not_ready_;
  prometheus::Gauge* pending_;
  prometheus::Gauge* terminating_;
  // The KPA's decision; null under the HPA class.
  prometheus::Gauge* panic_ = nullptr;
  prometheus::Gauge* excess_burst_capacity_ = nullptr;
  prometheus::Gauge* stable_ = nullptr;
  prometheus::Gauge* panic_value_ = nullptr;
  prometheus::Gauge* target_ = nullptr;
  // Activator.
  prometheus::Gauge* activator_concurrency_;
  struct ActivatorCode {
    prometheus::Counter* count = nullptr;
    prometheus::Histogram* latency = nullptr;
  };
  // By HTTP code; empty with OpenTelemetry names.
  std::array<ActivatorCode, 5> activator_codes_{};
  // Ours.
  std::array<prometheus::Counter*, kGrpcCodeCount> requests_by_code_{};
  prometheus::Gauge* queued_;
  prometheus::Gauge* inflight_;
  prometheus::Gauge* in_path_;
  prometheus::Counter* restarts_;
  int64_t restarts_seen_ = 0;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_SERVING_METRICS_H_
