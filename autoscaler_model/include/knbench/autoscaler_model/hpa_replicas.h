// Kubernetes' HPA replica calculator for a resource metric (CPU
// averageUtilization, memory averageValue): one proposal from one metric
// sample of the target's pods. A pure function; times are offsets on the
// caller's clock (the input's time_s).
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_REPLICAS_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_REPLICAS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_config.h"

namespace knbench::autoscaler_model {

// One pod as the HPA controller sees it: its status from the pod lister and
// its metric from metrics-server.
struct HpaPod {
  std::string name;
  bool ready = false;  // the Ready condition
  // status.startTime; unset: not started yet (phase Pending).
  std::optional<absl::Duration> start;
  // The Ready condition's lastTransitionTime.
  absl::Duration ready_since;
  // metrics-server's value at the sample; unset: no metric for the pod.
  std::optional<int64_t> cpu_millicores;
  std::optional<int64_t> memory_bytes;
};

// The pods at one metric sample; `time` is the metrics' timestamp.
struct HpaSample {
  absl::Duration time;
  std::vector<HpaPod> pods;
};

// Why the calculator proposed what it did.
enum class HpaCalculation {
  kScale,          // ratio outside the tolerance: ceil(ratio x pods counted)
  kTolerance,      // ratio (or recomputed ratio) within the tolerance
  kDirection,      // the recomputed ratio points the other way
  kMetricsLength,  // counting missing/unready pods turns the change around
  kNoMetrics,      // no pod with a usable metric: no proposal (an error)
  // Set by the controller, which then runs no calculation:
  kBelowMin,  // current replicas below minReplicas: scale to it
  kAboveMax,  // current replicas above maxReplicas: scale to it
  kDisabled,  // the target is at 0 replicas: autoscaling is off
};

struct ReplicaProposal {
  HpaCalculation calculation = HpaCalculation::kNoMetrics;
  int32_t replicas = 0;  // the current replicas unless kScale
  // From the ready pods with metrics, before missing/unready pods are
  // counted (what the HPA's status reports). CPU: percent of the request;
  // average_value in millicores. Memory: no percent; average_value in bytes.
  std::optional<int32_t> utilization_percent;
  std::optional<int64_t> average_value;
  // Kubernetes' groupPods: counted, unready (pending, or not yet trusted
  // for CPU), missing a metric.
  int32_t ready_pods = 0;
  int32_t unready_pods = 0;
  int32_t missing_pods = 0;
};

// The proposal at sync time `now` from `sample` (sample.time <= now), with
// `current_replicas` the scale the HPA set last. Uses spec's metric and
// target and config's tolerance, CPU request, initialization period,
// readiness delay and metric resolution (the window of a CPU value).
// Proposals are at most kMaxPodCount.
ReplicaProposal ProposeReplicas(const HpaConfig& config, const HpaSpec& spec,
                                int32_t current_replicas,
                                const HpaSample& sample, absl::Duration now);

absl::string_view HpaCalculationName(HpaCalculation calculation);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_REPLICAS_H_
