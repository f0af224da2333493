// Local serving as a whole: the router on the ingress address, the pods,
// the autoscaler (the KPA's or the HPA's loop), and the metrics and files
// that report it. main() only turns flags into ServingOptions.
#ifndef KNBENCH_LOCAL_SERVING_SERVING_H_
#define KNBENCH_LOCAL_SERVING_SERVING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/common/clock.h"
#include "knbench/common/metrics_endpoint.h"
#include "knbench/local_serving/autoscaling_loop.h"
#include "knbench/local_serving/hpa_metrics.h"
#include "knbench/local_serving/hpa_sampler.h"
#include "knbench/local_serving/output_file.h"
#include "knbench/local_serving/pod_cgroups.h"
#include "knbench/local_serving/pod_manager.h"
#include "knbench/local_serving/pod_resources.h"
#include "knbench/local_serving/router.h"
#include "knbench/local_serving/sd_file.h"
#include "knbench/local_serving/second_stats.h"
#include "knbench/local_serving/serving_metrics.h"
#include "knbench/tracing/exporter.h"
#include "knbench/tracing/flags.h"
#include "prometheus/registry.h"

namespace knbench::local_serving {

struct ServingOptions {
  // Which autoscaler scales the pods, and its settings.
  autoscaler_model::AutoscalerClass autoscaler_class =
      autoscaler_model::AutoscalerClass::kKpa;
  autoscaler_model::KpaConfig config;  // the KPA's
  autoscaler_model::HpaConfig hpa;     // the HPA's
  RevisionLabels labels;
  std::string host = "127.0.0.1";  // ingress and metrics listen here
  int grpc_port = 8080;            // 0 picks a free one
  int metrics_port = 2114;         // 0 picks a free one
  MetricNames metric_names = MetricNames::kOpenCensus;
  int64_t queue_depth = 10000;
  PodManager::Options pods;
  PodResources pod_resources;  // every pod's
  bool pod_cgroups = true;     // false: pods run unlimited, usage from /proc
  std::string sd_file;         // empty: none
  std::string stats_out;       // empty: none
  std::string decisions_out;   // empty: none
  absl::Duration shutdown_grace = absl::Seconds(30);
  // The activator's and queue-proxies' spans (the service local-serving).
  tracing::TracingSettings tracing;
};

class LocalServing {
 public:
  explicit LocalServing(ServingOptions options);
  ~LocalServing();

  // Opens the output files and both ports, then starts the pods and the
  // autoscaler. An error names what failed (a port in use, a file that
  // cannot be written); nothing is left running then.
  absl::Status Start();
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_.port(); }

  // Stops deciding, stops accepting calls and lets those in progress finish
  // (up to the grace; those left then get UNAVAILABLE and their calls at
  // the pods are cancelled), then stops every pod the same way.
  // Idempotent.
  void Shutdown();
  // The first write error of an output file (--stats-out, --decisions-out,
  // --prometheus-sd-file; each was logged when it happened); OK if none.
  absl::Status OutputStatus() const;

 private:
  std::unique_ptr<AutoscalingLoop> MakeLoop();
  // The pods as the HPA's metrics pipeline sees them now.
  std::vector<PodObservation> ObservePods();

  const ServingOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  ServingMetrics serving_metrics_;
  // Before metrics_, which reads it at each scrape until it stops.
  CgroupPods cgroups_;
  MetricsEndpoint metrics_;
  std::unique_ptr<OutputFile> stats_file_;  // null: not asked for
  std::unique_ptr<OutputFile> decisions_file_;
  // The one time source of the router, the pods and the autoscaler loop.
  SteadyClock clock_;
  const absl::Time start_;
  SecondStats stats_;
  std::unique_ptr<SdFileWriter> sd_file_;  // null: none; before pods_
  // Null when tracing is off; outlives the router's thread.
  std::unique_ptr<tracing::SpanExporter> exporter_;
  Router router_;
  PodManager pods_;
  int grpc_port_ = 0;
  std::unique_ptr<HpaMetrics> hpa_metrics_;  // the HPA class only
  std::unique_ptr<AutoscalingLoop> autoscaler_;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_SERVING_H_
