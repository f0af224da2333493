// The HPA class: LiveHpa on the real clock. Each sync's decision scales the
// pods (never below one) and updates kube-state-metrics' HPA series and
// Knative's pod counts (desired = the HPA's desired replicas). The
// activator is in the path only while no pod is ready, as Knative's HPA
// class serves through the pods once one is. Every second the router's
// gauges are refreshed, as under the KPA.
#ifndef KNBENCH_LOCAL_SERVING_HPA_LOOP_H_
#define KNBENCH_LOCAL_SERVING_HPA_LOOP_H_

#include <memory>
#include <optional>
#include <vector>

#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/local_serving/autoscaling_loop.h"
#include "knbench/local_serving/hpa_metrics.h"
#include "knbench/local_serving/live_hpa.h"

namespace knbench::local_serving {

class HpaLoop : public TimedLoop {
 public:
  // `config` must pass ValidateHpaConfig; `observe` lists the pods with
  // their usage (LiveHpa).
  HpaLoop(const autoscaler_model::HpaConfig& config, LoopContext context,
          LiveHpa::Observe observe, HpaMetrics* hpa_metrics);
  ~HpaLoop() override { Stop(); }

  void Start() override;
  void OnPods(const PodCounts& counts) override;
  int32_t idle_pods() const override { return spec_.min_replicas; }

 private:
  absl::Time Deadline() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Step(absl::Time now) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Apply(const autoscaler_model::HpaRow& row)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const LoopContext context_;
  const autoscaler_model::HpaSpec spec_;
  HpaMetrics* const hpa_metrics_;
  LiveHpa live_ ABSL_GUARDED_BY(mu_);
  absl::Time next_refresh_ ABSL_GUARDED_BY(mu_);
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_HPA_LOOP_H_
