// Replays metric samples through one HpaController, as kube-controller-
// manager would have synced it (for kpa_model --class=hpa).
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_REPLAY_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_REPLAY_H_

#include <vector>

#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_controller.h"
#include "knbench/autoscaler_model/hpa_replicas.h"

namespace knbench::autoscaler_model {

// The HPA is created at the first sample, over that sample's pods (its
// current replicas). It syncs at the first sample's time and every sync
// period after it, while the sync time is at most the last sample's; each
// sync uses the latest sample at or before it. A live loop that syncs at
// the same times with the same samples writes the same rows. `samples` in
// time order; `config` must pass ValidateHpaConfig.
std::vector<HpaRow> ReplayHpa(const std::vector<HpaSample>& samples,
                              const HpaConfig& config);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_REPLAY_H_
