#include "knbench/autoscaler_model/decider.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace knbench::autoscaler_model {
namespace {

// A pod count from a non-negative double, at most kMaxPodCount (NaN -> 0).
int32_t ToPods(double pods) {
  if (!(pods > 0)) return 0;
  return static_cast<int32_t>(std::min(pods, double{kMaxPodCount}));
}

// floor(x) saturated to the int32 range, for excess burst capacity with huge
// targets or loads; `saturated` says whether it was.
int32_t SaturatingFloor(double x, bool* saturated) {
  constexpr double kLow = std::numeric_limits<int32_t>::min();
  constexpr double kHigh = std::numeric_limits<int32_t>::max();
  if (std::isnan(x)) return 0;
  const double floor = std::floor(x);
  *saturated = floor < kLow || floor > kHigh;
  return static_cast<int32_t>(std::clamp(floor, kLow, kHigh));
}

}  // namespace

Decider::Decider(const KpaConfig& config, int32_t ready_at_start)
    : config_(config), target_(ResolveTarget(config)) {
  if (ready_at_start > 1) {
    panic_time_ = absl::ZeroDuration();
    max_panic_pods_ = ready_at_start;
  }
}

Decision Decider::Decide(absl::Duration now, double stable_value,
                         double panic_value, int32_t ready_pods) {
  // With no ready pods the rate limits are computed as if there were one.
  const double ready = std::max(1.0, static_cast<double>(ready_pods));
  // ceil() lets a slow rate still add at least one pod.
  const double max_up = std::ceil(config_.max_scale_up_rate * ready);
  const double max_down =
      config_.reachable ? std::floor(ready / config_.max_scale_down_rate) : 0.0;

  const double stable_pods = std::ceil(stable_value / target_.target);
  const double panic_pods = std::ceil(panic_value / target_.target);
  auto clamp = [&](double pods) {
    return ToPods(std::min(std::max(pods, max_down), max_up));
  };
  int32_t desired_stable = clamp(stable_pods);
  int32_t desired_panic = clamp(panic_pods);
  if (config_.activation_scale > 1) {
    if (stable_pods > 0) {
      desired_stable = std::max(desired_stable, config_.activation_scale);
    }
    if (panic_pods > 0) {
      desired_panic = std::max(desired_panic, config_.activation_scale);
    }
  }

  const bool over_threshold =
      panic_pods / ready >= config_.panic_threshold_percentage / 100.0;
  if (over_threshold) {
    panic_time_ = now;  // enter, or extend, panic
  } else if (panic_time_.has_value() &&
             *panic_time_ + config_.stable_window < now) {
    // The surge has had a whole stable window to show in the stable value.
    panic_time_.reset();
    max_panic_pods_ = 0;
  }

  int32_t desired = desired_stable;
  if (panic_time_.has_value()) {
    // Provision for the larger of the two, and never scale down in panic.
    desired = std::max(desired, desired_panic);
    max_panic_pods_ = std::max(max_panic_pods_, desired);
    desired = max_panic_pods_;
  }
  desired = DelayScaleDown(now, desired);

  Decision d;
  d.desired_pods = desired;
  d.panic_mode = panic_time_.has_value();
  // EBC = capacity of the ready pods - burst to absorb - current (panic)
  // load. It uses the real ready count, so 0 ready pods have no capacity.
  if (config_.target_burst_capacity == 0) {
    d.excess_burst_capacity = 0;
  } else if (config_.target_burst_capacity < 0) {
    d.excess_burst_capacity = -1;
  } else {
    const double capacity = static_cast<double>(ready_pods) * target_.total;
    d.excess_burst_capacity =
        SaturatingFloor(capacity - config_.target_burst_capacity - panic_value,
                        &d.excess_burst_capacity_saturated);
  }
  return d;
}

int32_t Decider::DelayScaleDown(absl::Duration now, int32_t desired) {
  if (config_.scale_down_delay <= absl::ZeroDuration()) return desired;
  // Max over the decisions of the last scale-down-delay.
  delay_window_.emplace_back(now, desired);
  while (!delay_window_.empty() &&
         now - delay_window_.front().first >= config_.scale_down_delay) {
    delay_window_.pop_front();
  }
  int32_t result = desired;
  for (const auto& [t, pods] : delay_window_) result = std::max(result, pods);
  return result;
}

}  // namespace knbench::autoscaler_model
