// Restates Kubernetes' horizontal.go (stabilizeRecommendation,
// convertDesiredReplicasWithRules, stabilizeRecommendationWithBehaviors,
// convertDesiredReplicasWithBehaviorRate, storeScaleEvent and the policy
// limits), including its boundaries: without a behavior a recommendation
// exactly one window old still counts; with one, and for the policies'
// periods, only strictly newer ones do. Recommendations and events out of
// every window are overwritten one at a time as Kubernetes does, so an old
// scale-up event can still count for a longer scale-down period.
#include "knbench/autoscaler_model/hpa_normalizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace knbench::autoscaler_model {
namespace {

constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

int32_t Saturate(double x) {
  if (std::isnan(x)) return 0;
  return static_cast<int32_t>(
      std::clamp(x, double{kInt32Min}, double{kInt32Max}));
}

}  // namespace

HpaNormalizer::HpaNormalizer(const HpaSpec& spec,
                             absl::Duration downscale_stabilization)
    : spec_(spec), downscale_stabilization_(downscale_stabilization) {}

void HpaNormalizer::RecordInitial(absl::Duration now, int32_t current) {
  if (seen_) return;
  seen_ = true;
  recommendations_.push_back({now, current, false});
}

Normalized HpaNormalizer::Normalize(absl::Duration now, int32_t current,
                                    int32_t proposal) {
  if (!spec_.behavior.has_value()) {
    return LimitWithRules(current, Stabilize(now, proposal));
  }
  return LimitWithBehavior(now, current,
                           StabilizeWithBehavior(now, current, proposal));
}

int32_t HpaNormalizer::Stabilize(absl::Duration now, int32_t proposal) {
  // The highest recommendation of the last window: scale-down waits.
  const absl::Duration cutoff = now - downscale_stabilization_;
  int32_t highest = proposal;
  for (Timed& r : recommendations_) {
    r.outdated = r.time < cutoff;
    if (!r.outdated) highest = std::max(highest, r.value);
  }
  Store(&recommendations_, {now, proposal, false});
  return highest;
}

int32_t HpaNormalizer::StabilizeWithBehavior(absl::Duration now,
                                             int32_t current,
                                             int32_t proposal) {
  const HpaBehavior& b = *spec_.behavior;
  // An unset scale-down window is the controller's, in whole seconds.
  const absl::Duration up_cutoff =
      now - b.scale_up.stabilization_window.value_or(absl::ZeroDuration());
  const absl::Duration down_cutoff =
      now - b.scale_down.stabilization_window.value_or(
                absl::Trunc(downscale_stabilization_, absl::Seconds(1)));
  // Up to the lowest recommendation of the scale-up window, down to the
  // highest of the scale-down window.
  int32_t up = proposal;
  int32_t down = proposal;
  for (Timed& r : recommendations_) {
    if (r.time > up_cutoff) up = std::min(up, r.value);
    if (r.time > down_cutoff) down = std::max(down, r.value);
    r.outdated = r.time < up_cutoff && r.time < down_cutoff;
  }
  Store(&recommendations_, {now, proposal, false});
  return std::min(std::max(current, up), down);
}

Normalized HpaNormalizer::LimitWithRules(int32_t current,
                                         int32_t stabilized) const {
  Normalized n{stabilized, stabilized, HpaLimit::kNone};
  // Guards against a bogus usage spike: at most double, or 4 pods.
  const auto scale_up_limit =
      static_cast<int32_t>(std::max(2.0 * current, 4.0));
  int32_t highest = spec_.max_replicas;
  HpaLimit why = HpaLimit::kMax;
  if (spec_.max_replicas > scale_up_limit) {
    highest = scale_up_limit;
    why = HpaLimit::kScaleUpLimit;
  }
  if (stabilized < spec_.min_replicas) {
    n.desired = spec_.min_replicas;
    n.limit = HpaLimit::kMin;
  } else if (stabilized > highest) {
    n.desired = highest;
    n.limit = why;
  }
  return n;
}

Normalized HpaNormalizer::LimitWithBehavior(absl::Duration now, int32_t current,
                                            int32_t stabilized) const {
  Normalized n{stabilized, stabilized, HpaLimit::kNone};
  if (stabilized > current) {
    const int32_t limit =
        std::max(PolicyLimit(now, current, /*up=*/true), current);
    int32_t highest = spec_.max_replicas;
    HpaLimit why = HpaLimit::kMax;
    if (highest > limit) {
      highest = limit;
      why = HpaLimit::kScaleUpPolicy;
    }
    if (stabilized > highest) n = {stabilized, highest, why};
  } else if (stabilized < current) {
    const int32_t limit =
        std::min(PolicyLimit(now, current, /*up=*/false), current);
    int32_t lowest = spec_.min_replicas;
    HpaLimit why = HpaLimit::kMin;
    if (lowest < limit) {
      lowest = limit;
      why = HpaLimit::kScaleDownPolicy;
    }
    if (stabilized < lowest) n = {stabilized, lowest, why};
  }
  return n;
}

int32_t HpaNormalizer::ChangeInPeriod(const std::vector<Timed>& events,
                                      absl::Duration now,
                                      absl::Duration period) {
  int32_t total = 0;
  for (const Timed& e : events) {
    if (e.time > now - period) total += e.value;
  }
  return total;
}

int32_t HpaNormalizer::PolicyLimit(absl::Duration now, int32_t current,
                                   bool up) const {
  const ScalingRules& rules =
      up ? spec_.behavior->scale_up : spec_.behavior->scale_down;
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  // Max picks the policy that allows the largest change: the highest limit
  // going up, the lowest going down.
  const bool highest = (rules.select_policy == SelectPolicy::kMax) == up;
  int32_t result = highest ? kInt32Min : kInt32Max;
  for (const ScalingPolicy& p : rules.policies) {
    // Each policy counts from the replicas at the start of its period.
    const double start = static_cast<double>(current) -
                         ChangeInPeriod(scale_up_events_, now, p.period) +
                         ChangeInPeriod(scale_down_events_, now, p.period);
    const double percent = static_cast<double>(p.value) / 100;
    double proposed = 0;
    if (p.type == ScalingPolicyType::kPods) {
      proposed = up ? start + p.value : start - p.value;
    } else if (up) {
      // Rounded up, so that a small percentage still adds a pod.
      proposed = std::ceil(start * (1 + percent));
    } else {
      proposed = std::trunc(start * (1 - percent));
    }
    const int32_t limit = Saturate(proposed);
    result = highest ? std::max(result, limit) : std::min(result, limit);
  }
  return result;
}

void HpaNormalizer::RecordScale(absl::Duration now, int32_t from, int32_t to) {
  if (!spec_.behavior.has_value() || from == to) return;
  const bool up = to > from;
  const ScalingRules& rules =
      up ? spec_.behavior->scale_up : spec_.behavior->scale_down;
  std::vector<Timed>* events = up ? &scale_up_events_ : &scale_down_events_;
  absl::Duration longest = absl::ZeroDuration();
  for (const ScalingPolicy& p : rules.policies) {
    longest = std::max(longest, p.period);
  }
  for (Timed& e : *events) {
    if (e.time < now - longest) e.outdated = true;
  }
  Store(events, {now, up ? to - from : from - to, false});
}

void HpaNormalizer::Store(std::vector<Timed>* list, Timed entry) {
  for (auto it = list->rbegin(); it != list->rend(); ++it) {
    if (it->outdated) {
      *it = entry;
      return;
    }
  }
  list->push_back(entry);
}

absl::string_view HpaLimitName(HpaLimit limit) {
  switch (limit) {
    case HpaLimit::kNone:
      return "none";
    case HpaLimit::kMin:
      return "min";
    case HpaLimit::kMax:
      return "max";
    case HpaLimit::kScaleUpLimit:
      return "scale-up-limit";
    case HpaLimit::kScaleUpPolicy:
      return "scale-up-policy";
    case HpaLimit::kScaleDownPolicy:
      break;
  }
  return "scale-down-policy";
}

}  // namespace knbench::autoscaler_model
