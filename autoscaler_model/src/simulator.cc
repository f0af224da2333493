#include "knbench/autoscaler_model/simulator.h"

#include <algorithm>
#include <deque>

#include "absl/strings/str_format.h"
#include "knbench/autoscaler_model/decider.h"
#include "knbench/autoscaler_model/window.h"

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

// The reconciler's half of the KPA: bounds, initial scale, and the
// active -> inactive (activator in path) -> zero sequence.
class Scaler {
 public:
  explicit Scaler(const KpaConfig& config) : config_(config) {
    min_ = config.reachable ? config.min_scale : 0;
    current_ = std::max(min_, config.initial_scale);
    initialized_ = Threshold() <= 0;
  }

  int32_t current() const { return current_; }
  bool inactive() const { return state_ == State::kInactive; }

  // Returns the scale to apply given the decider's wish and the ready pods.
  int32_t Apply(absl::Duration now, int32_t want, int32_t ready) {
    if (!initialized_ && ready >= Threshold()) initialized_ = true;
    int32_t scale = std::max(want, min_);
    if (config_.max_scale > 0) scale = std::min(scale, config_.max_scale);
    // Until the revision has once reached its initial scale, hold it there.
    if (!initialized_) scale = std::max(scale, config_.initial_scale);

    if (scale > 0) {
      if (state_ == State::kInactive) state_ = State::kActivating;
    } else if (!config_.enable_scale_to_zero) {
      scale = 1;
    } else if (state_ == State::kActivating) {
      scale = current_;  // unknown: leave the scale alone
    } else if (state_ == State::kActive) {
      if (now - active_since_ >= config_.stable_window) {
        // Idle for a stable window: mark inactive, which puts the activator
        // in the path; pods stay until the grace period has passed.
        state_ = State::kInactive;
        inactive_since_ = now;
        scale = current_;
      } else {
        scale = 1;  // at most one pod until it has been idle long enough
      }
    } else if (now - inactive_since_ < config_.scale_to_zero_grace_period) {
      scale = current_;
    }

    if (state_ == State::kActivating && ready >= std::max(1, Threshold())) {
      state_ = State::kActive;
      active_since_ = now;
    }
    current_ = scale;
    return scale;
  }

 private:
  enum class State { kActivating, kActive, kInactive };

  int32_t Threshold() const {
    return initialized_ ? std::max(min_, 1)
                        : std::max(min_, config_.initial_scale);
  }

  KpaConfig config_;
  int32_t min_ = 0;
  int32_t current_ = 0;
  bool initialized_ = false;
  State state_ = State::kActivating;
  absl::Duration active_since_;
  absl::Duration inactive_since_;
};

}  // namespace

std::vector<TickRow> Simulate(const MetricSeries& series,
                              const KpaConfig& config,
                              const SimulationOptions& options) {
  const bool measured = !series.ready_pods.empty();
  auto measured_ready = [&](int64_t s) {
    const int64_t last = static_cast<int64_t>(series.ready_pods.size()) - 1;
    return series.ready_pods[static_cast<size_t>(std::min(s, last))];
  };

  Scaler scaler(config);
  PodPool pods(options.pod_start_delay);
  if (!measured) pods.ScaleTo(scaler.current(), absl::ZeroDuration());
  Decider decider(config, measured ? measured_ready(0) : 0);

  const int64_t stable_buckets = StableWindowBuckets(config);
  const int64_t panic_buckets = PanicWindowBuckets(config);
  const auto average = config.aggregation == Aggregation::kLinear
                           ? &LinearWindowAverage
                           : &WeightedWindowAverage;
  const int64_t tick_s = absl::ToInt64Seconds(config.tick_interval);
  const int64_t end_s = static_cast<int64_t>(series.values.size()) +
                        absl::ToInt64Seconds(options.extend);

  std::vector<TickRow> rows;
  for (int64_t t = tick_s; t <= end_s; t += tick_s) {
    const absl::Duration now = absl::Seconds(t);
    TickRow row;
    row.time_s = t;
    row.ready_pods = measured ? measured_ready(t) : pods.ReadyAt(now);
    row.stable_value = average(series.values, t, stable_buckets);
    row.panic_value = average(series.values, t, panic_buckets);
    const Decision d =
        decider.Decide(now, row.stable_value, row.panic_value, row.ready_pods);
    row.panic_mode = d.panic_mode;
    row.excess_burst_capacity = d.excess_burst_capacity;
    row.desired_pods = scaler.Apply(now, d.desired_pods, row.ready_pods);
    // The KPA proxies through the activator at zero scale, on negative EBC
    // and once the revision is marked inactive; with no ready endpoint the
    // serverless service keeps proxying too.
    row.activator_in_path = row.desired_pods == 0 || row.ready_pods == 0 ||
                            d.excess_burst_capacity < 0 || scaler.inactive();
    if (!measured) pods.ScaleTo(row.desired_pods, now);
    rows.push_back(row);
  }
  return rows;
}

std::string FormatTicksCsv(const std::vector<TickRow>& rows) {
  std::string out =
      "time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,"
      "excess_burst_capacity,activator_in_path\n";
  for (const TickRow& r : rows) {
    absl::StrAppendFormat(&out, "%d,%d,%d,%d,%.3f,%.3f,%d,%d\n", r.time_s,
                          r.desired_pods, r.ready_pods, r.panic_mode ? 1 : 0,
                          r.stable_value, r.panic_value,
                          r.excess_burst_capacity, r.activator_in_path ? 1 : 0);
  }
  return out;
}

}  // namespace knbench::autoscaler_model
