// One HorizontalPodAutoscaler as Kubernetes' controller runs it: each sync
// takes the latest metric sample, proposes replicas (ProposeReplicas),
// normalizes them (HpaNormalizer) and sets the scale. The offline replay
// (ReplayHpa) drives this class, and so does local serving's live HPA
// (local_serving/.../live_hpa.h): given the same samples at the same sync
// times they decide identically.
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_CONTROLLER_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_CONTROLLER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_normalizer.h"
#include "knbench/autoscaler_model/hpa_replicas.h"

namespace knbench::autoscaler_model {

// One sync, as the replay and the live HPA write it.
struct HpaRow {
  absl::Duration time;
  int32_t desired_pods = 0;  // the scale after this sync
  int32_t current_pods = 0;  // the scale before it (the HPA's own last)
  // What the calculator measured (see ReplicaProposal); unset when it did
  // not run or found no metric.
  std::optional<int32_t> utilization_percent;
  std::optional<int64_t> average_value;
  int32_t ready_pods = 0;
  int32_t unready_pods = 0;
  int32_t missing_pods = 0;
  HpaCalculation calculation = HpaCalculation::kNoMetrics;
  // The calculator's proposal (the unstabilized recommendation), and after
  // stabilization; unset when there was none.
  std::optional<int32_t> recommendation;
  std::optional<int32_t> stabilized;
  HpaLimit limit = HpaLimit::kNone;
};

class HpaController {
 public:
  // `config` must pass ValidateHpaConfig. `replicas`: the target's scale
  // when the HPA is created.
  HpaController(const HpaConfig& config, int32_t replicas);

  // The sync at `now` with the latest metric sample (sample.time <= now).
  // Calls must not go back in time.
  HpaRow Sync(absl::Duration now, const HpaSample& sample);

  // The scale the HPA set last: its current replicas.
  int32_t scale() const { return scale_; }
  const HpaSpec& spec() const { return spec_; }

 private:
  const HpaConfig config_;
  const HpaSpec spec_;
  HpaNormalizer normalizer_;
  int32_t scale_;
};

// The decisions as CSV: kHpaDecisionsCsvHeader ("time_s,desired_pods,
// current_pods,utilization_percent,average_value,ready_pods,unready_pods,
// missing_pods,calculation,recommendation,stabilized,limited_by"), then
// one FormatHpaRow line each; unset values are empty cells. limited_by is
// "stabilization" when stabilization changed the recommendation, the limit
// (HpaLimitName) when one applied, both joined by "+", or "none".
extern const char kHpaDecisionsCsvHeader[];
std::string FormatHpaRow(const HpaRow& row);
std::string FormatHpaDecisionsCsv(const std::vector<HpaRow>& rows);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_CONTROLLER_H_
