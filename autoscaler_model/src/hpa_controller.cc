#include "knbench/autoscaler_model/hpa_controller.h"

#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/hpa_input.h"

namespace knbench::autoscaler_model {
namespace {

template <typename T>
std::string Cell(const std::optional<T>& value) {
  return value.has_value() ? absl::StrCat(*value) : std::string();
}

std::string LimitedBy(const HpaRow& row) {
  const bool stabilized = row.stabilized.has_value() &&
                          row.recommendation.has_value() &&
                          *row.stabilized != *row.recommendation;
  if (row.limit == HpaLimit::kNone) {
    return stabilized ? "stabilization" : "none";
  }
  return absl::StrCat(stabilized ? "stabilization+" : "",
                      HpaLimitName(row.limit));
}

}  // namespace

HpaController::HpaController(const HpaConfig& config, int32_t replicas)
    : config_(config),
      spec_(MakeHpaSpec(config)),
      normalizer_(spec_, config.downscale_stabilization),
      scale_(replicas) {}

HpaRow HpaController::Sync(absl::Duration now, const HpaSample& sample) {
  // Kubernetes' reconcileAutoscaler, one metric.
  const int32_t current = scale_;
  HpaRow row;
  row.time = now;
  row.current_pods = current;
  row.desired_pods = current;
  normalizer_.RecordInitial(now, current);
  if (current == 0 && spec_.min_replicas != 0) {
    row.calculation = HpaCalculation::kDisabled;
    return row;
  }
  if (current > spec_.max_replicas) {
    row.calculation = HpaCalculation::kAboveMax;
    row.desired_pods = spec_.max_replicas;
    row.limit = HpaLimit::kMax;
  } else if (current < spec_.min_replicas) {
    row.calculation = HpaCalculation::kBelowMin;
    row.desired_pods = spec_.min_replicas;
    row.limit = HpaLimit::kMin;
  } else {
    const ReplicaProposal p =
        ProposeReplicas(config_, spec_, current, sample, now);
    row.utilization_percent = p.utilization_percent;
    row.average_value = p.average_value;
    row.ready_pods = p.ready_pods;
    row.unready_pods = p.unready_pods;
    row.missing_pods = p.missing_pods;
    row.calculation = p.calculation;
    // No metric is an error in Kubernetes: nothing recorded, no change.
    if (p.calculation == HpaCalculation::kNoMetrics) return row;
    const Normalized n = normalizer_.Normalize(now, current, p.replicas);
    row.recommendation = p.replicas;
    row.stabilized = n.stabilized;
    row.desired_pods = n.desired;
    row.limit = n.limit;
  }
  if (row.desired_pods != current) {
    normalizer_.RecordScale(now, current, row.desired_pods);
    scale_ = row.desired_pods;
  }
  return row;
}

const char kHpaDecisionsCsvHeader[] =
    "time_s,desired_pods,current_pods,utilization_percent,average_value,"
    "ready_pods,unready_pods,missing_pods,calculation,recommendation,"
    "stabilized,limited_by\n";

std::string FormatHpaRow(const HpaRow& r) {
  return absl::StrCat(
      FormatHpaSeconds(r.time), ",", r.desired_pods, ",", r.current_pods, ",",
      Cell(r.utilization_percent), ",", Cell(r.average_value), ",",
      r.ready_pods, ",", r.unready_pods, ",", r.missing_pods, ",",
      HpaCalculationName(r.calculation), ",", Cell(r.recommendation), ",",
      Cell(r.stabilized), ",", LimitedBy(r), "\n");
}

std::string FormatHpaDecisionsCsv(const std::vector<HpaRow>& rows) {
  std::string out = kHpaDecisionsCsvHeader;
  for (const HpaRow& r : rows) out += FormatHpaRow(r);
  return out;
}

}  // namespace knbench::autoscaler_model
