#include "knbench/autoscaler_model/scaler.h"

#include <algorithm>

namespace knbench::autoscaler_model {

Scaler::Scaler(const KpaConfig& config) : config_(config) {
  min_ = config.reachable ? config.min_scale : 0;
  current_ = std::max(min_, config.initial_scale);
  initialized_ = Threshold() <= 0;
}

int32_t Scaler::Threshold() const {
  return initialized_ ? std::max(min_, 1)
                      : std::max(min_, config_.initial_scale);
}

int32_t Scaler::Apply(absl::Duration now, int32_t want, int32_t ready) {
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
  } else {
    scale = ScaleToZeroStep(now);
  }

  if (state_ == State::kActivating && ready >= std::max(1, Threshold())) {
    state_ = State::kActive;
    active_since_ = now;
  }
  current_ = scale;
  return scale;
}

int32_t Scaler::ScaleToZeroStep(absl::Duration now) {
  if (state_ == State::kActive) {
    // At most one pod until the revision has been active a stable window.
    if (now - active_since_ < config_.stable_window) return 1;
    // Mark it inactive: the activator enters the path, the pods stay.
    // Knative reconciles the changed status again at once, so the grace
    // checks below apply at this same instant.
    state_ = State::kInactive;
    inactive_since_ = now;
  }
  const absl::Duration grace = config_.scale_to_zero_grace_period;
  const bool waited = now - inactive_since_ >= grace;
  // The fast path: the activator has already been in the path that long
  // (with the default target-burst-capacity it usually is from the start).
  const bool proxied = proxy_since_.has_value() && now - *proxy_since_ >= grace;
  return waited || proxied ? 0 : current_;
}

void Scaler::SetActivatorInPath(absl::Duration now, bool in_path) {
  if (!in_path) {
    proxy_since_.reset();
  } else if (!proxy_since_.has_value()) {
    proxy_since_ = now;
  }
}

}  // namespace knbench::autoscaler_model
