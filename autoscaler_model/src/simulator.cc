#include "knbench/autoscaler_model/simulator.h"

#include <algorithm>
#include <deque>

namespace knbench::autoscaler_model {
namespace {

// Pods as the model runs them when no measured ready count is given.
class PodPool {
 public:
  explicit PodPool(absl::Duration start_delay) : start_delay_(start_delay) {}

  void ScaleTo(int32_t pods, absl::Duration now) {
    int32_t total = ready_ + static_cast<int32_t>(starting_.size());
    for (; total < pods; ++total) starting_.push_back(now + start_delay_);
    // Pods still starting go first (newest first), then ready ones.
    for (; total > pods && !starting_.empty(); --total) starting_.pop_back();
    if (total > pods) ready_ = pods;
  }

  int32_t ReadyAt(absl::Duration now) {
    while (!starting_.empty() && starting_.front() <= now) {
      starting_.pop_front();
      ++ready_;
    }
    return ready_;
  }

 private:
  absl::Duration start_delay_;
  int32_t ready_ = 0;
  std::deque<absl::Duration> starting_;  // ready times, ascending
};

}  // namespace

std::vector<TickRow> Simulate(const MetricSeries& series,
                              const KpaConfig& config,
                              const SimulationOptions& options) {
  const bool measured = !series.ready_pods.empty();
  PodPool pods(options.pod_start_delay);
  auto ready_at = [&](int64_t s) {
    if (!measured) return pods.ReadyAt(absl::Seconds(s));
    const int64_t last = static_cast<int64_t>(series.ready_pods.size()) - 1;
    return series.ready_pods[static_cast<size_t>(std::min(s, last))];
  };

  Autoscaler autoscaler(config, ready_at(0));
  if (!measured) pods.ScaleTo(autoscaler.scale(), absl::ZeroDuration());

  const int64_t tick_s = absl::ToInt64Seconds(config.tick_interval);
  const int64_t input_s = static_cast<int64_t>(series.values.size());
  const int64_t end_s = input_s + absl::ToInt64Seconds(options.extend);
  std::vector<TickRow> rows;
  auto apply = [&](const TickRow& row) {
    if (!measured) pods.ScaleTo(row.desired_pods, absl::Seconds(row.time_s));
    rows.push_back(row);
  };
  for (int64_t s = 0; s <= end_s; ++s) {
    if (s > 0 && s % tick_s == 0) apply(autoscaler.Tick(s, ready_at(s)));
    const double value =
        s < input_s ? series.values[static_cast<size_t>(s)] : 0.0;
    if (value > 0) {
      if (auto row = autoscaler.Poke(s, ready_at(s))) apply(*row);
    }
    autoscaler.Record(value);
  }
  return rows;
}

}  // namespace knbench::autoscaler_model
