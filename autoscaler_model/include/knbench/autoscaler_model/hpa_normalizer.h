// The HPA controller's normalization of a proposal, with the state it keeps
// per HPA (Kubernetes' horizontal.go): the recommendations of recent syncs
// for stabilization, and, with a behavior, the recent scale events for the
// rate policies.
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_NORMALIZER_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_NORMALIZER_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_config.h"

namespace knbench::autoscaler_model {

// Which bound set the desired replicas after stabilization.
enum class HpaLimit {
  kNone,
  kMin,             // minReplicas
  kMax,             // maxReplicas
  kScaleUpLimit,    // without behavior: at most max(2 x current, 4)
  kScaleUpPolicy,   // with behavior: the scale-up policies
  kScaleDownPolicy  // with behavior: the scale-down policies
};

struct Normalized {
  int32_t stabilized = 0;  // after the stabilization window(s)
  int32_t desired = 0;     // after the limits
  HpaLimit limit = HpaLimit::kNone;
};

class HpaNormalizer {
 public:
  // `downscale_stabilization`: the controller's flag, the window without a
  // behavior (and for a behavior whose scale-down window is unset).
  HpaNormalizer(const HpaSpec& spec, absl::Duration downscale_stabilization);

  // The controller records the current replicas as a recommendation when
  // it first sees the HPA; later calls do nothing.
  void RecordInitial(absl::Duration now, int32_t current);

  // Stabilizes and limits `proposal` (the replica calculator's), and
  // records it as this sync's recommendation. Calls must not go back in
  // time.
  Normalized Normalize(absl::Duration now, int32_t current, int32_t proposal);

  // The scale changed from `from` to `to` at `now`: a scale event for the
  // behavior's rate policies (without a behavior nothing is kept).
  void RecordScale(absl::Duration now, int32_t from, int32_t to);

 private:
  struct Timed {
    absl::Duration time;
    int32_t value = 0;  // replicas, or a replica change (non-negative)
    bool outdated = false;
  };

  int32_t Stabilize(absl::Duration now, int32_t proposal);
  int32_t StabilizeWithBehavior(absl::Duration now, int32_t current,
                                int32_t proposal);
  Normalized LimitWithRules(int32_t current, int32_t stabilized) const;
  Normalized LimitWithBehavior(absl::Duration now, int32_t current,
                               int32_t stabilized) const;
  // The furthest the behavior's policies let the scale go from `current`,
  // up or down.
  int32_t PolicyLimit(absl::Duration now, int32_t current, bool up) const;
  // Replicas changed by `events` strictly within the last `period`.
  static int32_t ChangeInPeriod(const std::vector<Timed>& events,
                                absl::Duration now, absl::Duration period);
  // Replaces the last entry flagged `outdated` with `entry`, or appends it.
  static void Store(std::vector<Timed>* list, Timed entry);

  const HpaSpec spec_;
  const absl::Duration downscale_stabilization_;
  bool seen_ = false;
  std::vector<Timed> recommendations_;
  std::vector<Timed> scale_up_events_;
  std::vector<Timed> scale_down_events_;
};

absl::string_view HpaLimitName(HpaLimit limit);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_NORMALIZER_H_
