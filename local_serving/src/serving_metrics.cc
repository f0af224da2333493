#include "knbench/local_serving/serving_metrics.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/grpc_codes.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;

// The activator reports HTTP codes: a gRPC answer from a pod travels in an
// HTTP 200; what the activator itself ends is 503 (no capacity), 504 (the
// deadline passed while queued), 499 (the caller went away) or 500.
constexpr std::array<const char*, 5> kHttpCodes = {"200", "499", "500", "503",
                                                   "504"};

size_t HttpIndex(grpc::StatusCode code, bool answered_by_pod) {
  if (answered_by_pod) return 0;
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return 1;
    case grpc::StatusCode::UNAVAILABLE:
      return 3;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 4;
    default:
      return 2;
  }
}

// Knative's latency distribution for request metrics, in ms.
const prometheus::Histogram::BucketBoundaries& LatencyBucketsMs() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      5,   10,   20,   40,   60,    80,    100,   150,   200,
      250, 300,  350,  400,  450,   500,   600,   700,   800,
      900, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
  return kBuckets;
}

}  // namespace

std::optional<MetricNames> ParseMetricNames(absl::string_view text) {
  if (text == "opencensus") return MetricNames::kOpenCensus;
  if (text == "otel") return MetricNames::kOtel;
  return std::nullopt;
}

ServingMetrics::ServingMetrics(prometheus::Registry& registry,
                               MetricNames names, const RevisionLabels& labels,
                               std::optional<am::Metric> kpa_metric)
    : registry_(registry), otel_(names == MetricNames::kOtel) {
  if (otel_) {
    labels_ = {{"k8s_namespace_name", labels.namespace_name},
               {"kn_service_name", labels.service_name},
               {"kn_configuration_name", labels.configuration_name},
               {"kn_revision_name", labels.revision_name}};
  } else {
    labels_ = {{"namespace_name", labels.namespace_name},
               {"service_name", labels.service_name},
               {"configuration_name", labels.configuration_name},
               {"revision_name", labels.revision_name}};
  }
  RegisterPodCounts();
  if (kpa_metric.has_value()) RegisterKpaDecision(*kpa_metric);
  RegisterActivator();
  RegisterOwn();
}

std::string ServingMetrics::Named(const char* opencensus,
                                  const char* otel) const {
  return otel_ ? otel : opencensus;
}

void ServingMetrics::RegisterPodCounts() {
  desired_ =
      &Gauge(Named("autoscaler_desired_pods", "kn_revision_pods_desired"),
             "Pods the autoscaler wants, before min/max and scale to "
             "zero.");
  requested_ =
      &Gauge(Named("autoscaler_requested_pods", "kn_revision_pods_requested"),
             "Pods requested from the Deployment.");
  actual_ = &Gauge(Named("autoscaler_actual_pods", "kn_revision_pods_count"),
                   "Ready pods.");
  not_ready_ = &Gauge(
      Named("autoscaler_not_ready_pods", "kn_revision_pods_not_ready_count"),
      "Pods that are not ready.");
  pending_ =
      &Gauge(Named("autoscaler_pending_pods", "kn_revision_pods_pending_count"),
             "Pods not started yet (the start delay).");
  terminating_ = &Gauge(Named("autoscaler_terminating_pods",
                              "kn_revision_pods_terminating_count"),
                        "Pods stopping.");
}

void ServingMetrics::RegisterKpaDecision(am::Metric metric) {
  panic_ = &Gauge(Named("autoscaler_panic_mode", "kn_revision_panic_mode"),
                  "1 while the autoscaler is in panic mode.");
  excess_burst_capacity_ = &Gauge(
      Named("autoscaler_excess_burst_capacity", "kn_revision_capacity_excess"),
      "Excess burst capacity; the activator is in the path while it "
      "is negative.");
  if (metric == am::Metric::kRps) {
    stable_ = &Gauge(Named("autoscaler_stable_requests_per_second",
                           "kn_revision_rps_stable"),
                     "Requests per second over the stable window.");
    panic_value_ = &Gauge(
        Named("autoscaler_panic_requests_per_second", "kn_revision_rps_panic"),
        "Requests per second over the panic window.");
    target_ = &Gauge(Named("autoscaler_target_requests_per_second",
                           "kn_revision_rps_target"),
                     "Requests per second each pod is scaled for.");
  } else {
    stable_ = &Gauge(Named("autoscaler_stable_request_concurrency",
                           "kn_revision_concurrency_stable"),
                     "Requests in flight over the stable window.");
    panic_value_ = &Gauge(Named("autoscaler_panic_request_concurrency",
                                "kn_revision_concurrency_panic"),
                          "Requests in flight over the panic window.");
    target_ = &Gauge(Named("autoscaler_target_concurrency_per_pod",
                           "kn_revision_concurrency_target"),
                     "Requests in flight each pod is scaled for.");
  }
}

void ServingMetrics::RegisterActivator() {
  activator_concurrency_ = &Gauge(
      Named("activator_request_concurrency", "kn_revision_request_concurrency"),
      "Requests in the activator (buffered or proxied).");
  if (!otel_) {
    auto& count = prometheus::BuildCounter()
                      .Name("activator_request_count")
                      .Help("Requests the activator ended, by HTTP code.")
                      .Register(registry_);
    auto& latency = prometheus::BuildHistogram()
                        .Name("activator_request_latencies")
                        .Help("Activator request latency, ms.")
                        .Register(registry_);
    for (size_t i = 0; i < kHttpCodes.size(); ++i) {
      auto with_code = labels_;
      with_code["response_code"] = kHttpCodes[i];
      with_code["response_code_class"] =
          absl::StrCat(absl::string_view(kHttpCodes[i]).substr(0, 1), "xx");
      activator_codes_[i] = {&count.Add(with_code),
                             &latency.Add(with_code, LatencyBucketsMs())};
    }
  }
}

void ServingMetrics::RegisterOwn() {
  auto& requests = prometheus::BuildCounter()
                       .Name("local_serving_requests_total")
                       .Help("Calls answered by local serving, by gRPC code.")
                       .Register(registry_);
  for (int i = 0; i < kGrpcCodeCount; ++i) {
    requests_by_code_[i] = &requests.Add({{"code", GrpcCodeName(i)}});
  }
  queued_ = &prometheus::BuildGauge()
                 .Name("local_serving_queued_requests")
                 .Help("Calls waiting: activator buffer and queue-proxies.")
                 .Register(registry_)
                 .Add({});
  inflight_ = &prometheus::BuildGauge()
                   .Name("local_serving_inflight_requests")
                   .Help("Calls sent to a pod and not answered yet.")
                   .Register(registry_)
                   .Add({});
  in_path_ = &prometheus::BuildGauge()
                  .Name("local_serving_activator_in_path")
                  .Help("1 while the activator is in the request path.")
                  .Register(registry_)
                  .Add({});
  restarts_ = &prometheus::BuildCounter()
                   .Name("local_serving_pod_restarts_total")
                   .Help("Pod processes that died and were restarted.")
                   .Register(registry_)
                   .Add({});
}

prometheus::Gauge& ServingMetrics::Gauge(const std::string& name,
                                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry_).Add(
      labels_);
}

void ServingMetrics::OnDecision(const am::TickRow& row, double target_per_pod) {
  OnScale(row.decider_pods, row.desired_pods);
  panic_->Set(row.panic_mode ? 1 : 0);
  excess_burst_capacity_->Set(row.excess_burst_capacity);
  stable_->Set(row.stable_value);
  panic_value_->Set(row.panic_value);
  target_->Set(target_per_pod);
}

void ServingMetrics::OnScale(int32_t desired, int32_t requested) {
  desired_->Set(desired);
  requested_->Set(requested);
}

void ServingMetrics::OnPods(const PodCounts& pods) {
  actual_->Set(pods.ready);
  not_ready_->Set(pods.not_ready);
  pending_->Set(pods.pending);
  terminating_->Set(pods.terminating);
  if (pods.restarts > restarts_seen_) {
    restarts_->Increment(static_cast<double>(pods.restarts - restarts_seen_));
    restarts_seen_ = pods.restarts;
  }
}

void ServingMetrics::OnRouter(const Router::Snapshot& router) {
  activator_concurrency_->Set(static_cast<double>(router.via_activator));
  queued_->Set(static_cast<double>(router.queued));
  inflight_->Set(static_cast<double>(router.inflight));
  in_path_->Set(router.activator_in_path ? 1 : 0);
}

void ServingMetrics::OnCallDone(grpc::StatusCode code, bool via_activator,
                                bool answered_by_pod, absl::Duration latency) {
  const auto index = static_cast<size_t>(code);
  if (index < requests_by_code_.size()) requests_by_code_[index]->Increment();
  const ActivatorCode& activator =
      activator_codes_[HttpIndex(code, answered_by_pod)];
  if (!via_activator || activator.count == nullptr) return;
  activator.count->Increment();
  activator.latency->Observe(absl::ToDoubleMilliseconds(latency));
}

}  // namespace knbench::local_serving
