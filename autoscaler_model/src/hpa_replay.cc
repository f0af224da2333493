#include "knbench/autoscaler_model/hpa_replay.h"

#include <cstdint>

namespace knbench::autoscaler_model {

std::vector<HpaRow> ReplayHpa(const std::vector<HpaSample>& samples,
                              const HpaConfig& config) {
  std::vector<HpaRow> rows;
  if (samples.empty()) return rows;
  HpaController hpa(config, static_cast<int32_t>(samples.front().pods.size()));
  size_t latest = 0;
  for (absl::Duration now = samples.front().time; now <= samples.back().time;
       now += config.sync_period) {
    while (latest + 1 < samples.size() && samples[latest + 1].time <= now) {
      ++latest;
    }
    rows.push_back(hpa.Sync(now, samples[latest]));
  }
  return rows;
}

}  // namespace knbench::autoscaler_model
