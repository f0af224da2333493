// The rules, from Kubernetes' pkg/controller/podautoscaler
// (replica_calculator.go: GetResourceReplicas, calcPlainMetricReplicas,
// groupPods; metrics/utilization.go), restated:
// - Pods are grouped: not started (Pending) -> unready; no metric ->
//   missing; for CPU, a pod still in its initialization period counts only
//   once ready and sampled a whole metric window after becoming ready, and
//   after it only a pod that has never been ready is left out.
// - Over the ready pods with metrics: CPU utilization = floor(100 x sum of
//   usage / sum of requests) and ratio = utilization / target; memory
//   average = floor(sum / pods) and ratio = average / target.
// - With no missing pods (and no unready ones on a scale-up): a ratio in
//   [1 - tolerance, 1 + tolerance] keeps the current replicas, else
//   ceil(ratio x ready pods).
// - Otherwise missing pods count as max(100 %, target) of their request
//   (memory: the target) on a scale-down and as 0 on a scale-up; unready
//   pods count as 0 on a scale-up only. The ratio is recomputed over all
//   counted pods; inside the tolerance, or pointing the other way, the
//   current replicas stay; ceil(new ratio x pods counted) stands unless it
//   moves against the new ratio's direction.
#include "knbench/autoscaler_model/hpa_replicas.h"

#include <algorithm>
#include <cmath>

#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {
namespace {

enum class Group { kReady, kUnready, kMissing };

Group Classify(const HpaConfig& config, HpaMetric metric, const HpaPod& pod,
               absl::Duration sample_time, absl::Duration now) {
  if (!pod.start.has_value()) return Group::kUnready;
  const bool has_metric = metric == HpaMetric::kCpu
                              ? pod.cpu_millicores.has_value()
                              : pod.memory_bytes.has_value();
  if (!has_metric) return Group::kMissing;
  if (metric != HpaMetric::kCpu) return Group::kReady;
  bool unready = false;
  if (*pod.start + config.cpu_initialization_period > now) {
    // A starting pod's CPU is trusted once a whole metric window was
    // sampled after it became ready.
    unready =
        !pod.ready || sample_time < pod.ready_since + config.metric_resolution;
  } else {
    // Later, only a pod that has never been ready is left out.
    unready = !pod.ready &&
              *pod.start + config.initial_readiness_delay > pod.ready_since;
  }
  return unready ? Group::kUnready : Group::kReady;
}

// What the ratio is computed over. Values are Kubernetes' milli-units:
// millicores, milli-bytes.
struct Totals {
  int64_t value = 0;
  int64_t request = 0;
  int64_t count = 0;

  void Add(int64_t v, int64_t r) {
    value += v;
    request += r;
    ++count;
  }
};

struct Usage {
  double ratio = 0;
  int64_t level = 0;  // CPU: utilization percent; memory: average milli-bytes
};

Usage Measure(const HpaSpec& spec, const Totals& t) {
  if (spec.metric == HpaMetric::kCpu) {
    const int64_t utilization = t.value * 100 / t.request;
    return {static_cast<double>(utilization) /
                static_cast<double>(spec.target_utilization),
            utilization};
  }
  const int64_t average = t.value / t.count;
  return {static_cast<double>(average) /
              static_cast<double>(spec.target_average_milli),
          average};
}

// Kubernetes >= 1.33 checks the band inclusively at both ends (older
// releases computed |1 - ratio| <= tolerance, which in floating point
// leaves out an upper edge such as 88 % / 80 % = 1.1).
bool WithinTolerance(double tolerance, double ratio) {
  return 1.0 - tolerance <= ratio && ratio <= 1.0 + tolerance;
}

int32_t CeilPods(double pods) {
  if (!(pods > 0)) return 0;
  if (pods >= kMaxPodCount) return kMaxPodCount;
  return static_cast<int32_t>(std::ceil(pods));
}

// Groups the pods into `p`'s counts; returns the sums of the ready ones.
Totals CountPods(const HpaConfig& config, const HpaSpec& spec,
                 const HpaSample& sample, absl::Duration now,
                 ReplicaProposal* p) {
  const bool cpu = spec.metric == HpaMetric::kCpu;
  Totals counted;
  for (const HpaPod& pod : sample.pods) {
    switch (Classify(config, spec.metric, pod, sample.time, now)) {
      case Group::kUnready:
        ++p->unready_pods;
        break;
      case Group::kMissing:
        ++p->missing_pods;
        break;
      case Group::kReady:
        ++p->ready_pods;
        counted.Add(cpu ? *pod.cpu_millicores : *pod.memory_bytes * 1000,
                    cpu ? config.cpu_request : 0);
        break;
    }
  }
  return counted;
}

}  // namespace

ReplicaProposal ProposeReplicas(const HpaConfig& config, const HpaSpec& spec,
                                int32_t current_replicas,
                                const HpaSample& sample, absl::Duration now) {
  const bool cpu = spec.metric == HpaMetric::kCpu;
  const int64_t request = cpu ? config.cpu_request : 0;
  ReplicaProposal p;
  p.replicas = current_replicas;
  const Totals counted = CountPods(config, spec, sample, now, &p);
  if (counted.count == 0) return p;  // kNoMetrics

  const Usage usage = Measure(spec, counted);
  if (cpu) {
    p.utilization_percent = static_cast<int32_t>(usage.level);
    p.average_value = counted.value / counted.count;
  } else {
    p.average_value = usage.level / 1000;
  }
  const bool up_with_unready = p.unready_pods > 0 && usage.ratio > 1.0;
  if (!up_with_unready && p.missing_pods == 0) {
    if (WithinTolerance(config.tolerance, usage.ratio)) {
      p.calculation = HpaCalculation::kTolerance;
    } else {
      p.calculation = HpaCalculation::kScale;
      p.replicas = CeilPods(usage.ratio * p.ready_pods);
    }
    return p;
  }

  // Count the others the way that damps the change: missing pods as busy
  // on a scale-down and idle on a scale-up (neither at a ratio of exactly
  // 1), unready pods as idle on a scale-up only.
  Totals all = counted;
  if (usage.ratio != 1.0) {
    const int64_t busy =
        cpu ? request * std::max(100, spec.target_utilization) / 100
            : spec.target_average_milli;
    const int64_t missing_value = usage.ratio < 1.0 ? busy : 0;
    for (int32_t i = 0; i < p.missing_pods; ++i) {
      all.Add(missing_value, request);
    }
  }
  if (up_with_unready) {
    for (int32_t i = 0; i < p.unready_pods; ++i) all.Add(0, request);
  }
  const double ratio = Measure(spec, all).ratio;
  p.calculation = HpaCalculation::kTolerance;
  if (WithinTolerance(config.tolerance, ratio)) return p;
  p.calculation = HpaCalculation::kDirection;
  if ((usage.ratio < 1.0 && ratio > 1.0) ||
      (usage.ratio > 1.0 && ratio < 1.0)) {
    return p;
  }
  const int32_t proposed = CeilPods(ratio * static_cast<double>(all.count));
  p.calculation = HpaCalculation::kMetricsLength;
  if ((ratio < 1.0 && proposed > current_replicas) ||
      (ratio > 1.0 && proposed < current_replicas)) {
    return p;
  }
  p.calculation = HpaCalculation::kScale;
  p.replicas = proposed;
  return p;
}

absl::string_view HpaCalculationName(HpaCalculation calculation) {
  switch (calculation) {
    case HpaCalculation::kScale:
      return "scale";
    case HpaCalculation::kTolerance:
      return "tolerance";
    case HpaCalculation::kDirection:
      return "direction";
    case HpaCalculation::kMetricsLength:
      return "metrics-length";
    case HpaCalculation::kNoMetrics:
      return "no-metrics";
    case HpaCalculation::kBelowMin:
      return "below-min";
    case HpaCalculation::kAboveMax:
      return "above-max";
    case HpaCalculation::kDisabled:
      break;
  }
  return "disabled";
}

}  // namespace knbench::autoscaler_model
