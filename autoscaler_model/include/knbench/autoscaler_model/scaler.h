// The reconciler's half of the KPA (Knative's kpa reconciler and scaler):
// min/max bounds, initial scale, the active -> inactive -> zero sequence, and
// the fast path to zero once the activator has been in the path long enough.
#ifndef KNBENCH_AUTOSCALER_MODEL_SCALER_H_
#define KNBENCH_AUTOSCALER_MODEL_SCALER_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {

class Scaler {
 public:
  explicit Scaler(const KpaConfig& config);

  // The scale applied last (the Deployment's replicas): initial scale before
  // the first Apply.
  int32_t current() const { return current_; }
  // Marked inactive (idle for a stable window): the activator is in the path
  // and the pods wait for scale to zero.
  bool inactive() const { return state_ == State::kInactive; }

  // Returns the scale to apply given the decider's wish and the ready pods.
  // Calls must not go back in time.
  int32_t Apply(absl::Duration now, int32_t want, int32_t ready);

  // Whether the activator is in the request path after the decision at
  // `now` (the serverless service's proxy mode). Scale to zero takes its
  // fast path once the revision is inactive and the activator has been in
  // the path for the grace period (Knative's handleScaleToZero).
  void SetActivatorInPath(absl::Duration now, bool in_path);

 private:
  enum class State { kActivating, kActive, kInactive };

  int32_t Threshold() const;
  int32_t ScaleToZeroStep(absl::Duration now);

  KpaConfig config_;
  int32_t min_ = 0;
  int32_t current_ = 0;
  bool initialized_ = false;
  State state_ = State::kActivating;
  absl::Duration active_since_;
  absl::Duration inactive_since_;
  std::optional<absl::Duration> proxy_since_;
};

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SCALER_H_
