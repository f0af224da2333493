// Hand-worked vectors for the HPA controller's normalization.
// Without behavior: stabilized = max(recommendations of the last
//   downscale-stabilization window, the edge included), then clamped to
//   [min, min(max, max(2 x current, 4))].
// With behavior: stabilized = current raised to the lowest recommendation
//   of the scale-up window and lowered to the highest of the scale-down
//   window (edges excluded); then each policy limits from the replicas at
//   the start of its period (current - added + removed within it): Pods
//   +/- value, Percent ceil(x (1 + v/100)) up, trunc(x (1 - v/100)) down;
//   selectPolicy Max takes the largest change, Min the smallest.
#include "knbench/autoscaler_model/hpa_normalizer.h"

#include <vector>

#include "gtest/gtest.h"

namespace knbench::autoscaler_model {
namespace {

absl::Duration S(int64_t seconds) { return absl::Seconds(seconds); }

HpaSpec Legacy(int32_t min, int32_t max) {
  HpaSpec s;
  s.min_replicas = min;
  s.max_replicas = max;
  return s;
}

// Stabilization windows 0 unless given, so the policies act alone.
ScalingRules Rules(SelectPolicy select, std::vector<ScalingPolicy> policies,
                   absl::Duration window = absl::ZeroDuration()) {
  return ScalingRules{window, select, std::move(policies)};
}

ScalingPolicy Pods(int32_t value, int64_t period_s) {
  return {ScalingPolicyType::kPods, value, S(period_s)};
}

ScalingPolicy Percent(int32_t value, int64_t period_s) {
  return {ScalingPolicyType::kPercent, value, S(period_s)};
}

HpaSpec WithBehavior(ScalingRules up, ScalingRules down, int32_t min = 1,
                     int32_t max = 100) {
  HpaSpec s = Legacy(min, max);
  s.behavior = HpaBehavior{std::move(up), std::move(down)};
  return s;
}

// One normalization by a fresh normalizer (no recommendations yet).
Normalized Once(const HpaSpec& spec, int32_t current, int32_t proposal) {
  HpaNormalizer n(spec, S(300));
  return n.Normalize(S(0), current, proposal);
}

struct Step {
  int64_t t;
  int32_t proposal;
  int32_t want_stabilized;
  int32_t want_desired;
};

// Runs `steps`, the scale following each desired count from `initial`.
void RunSteps(const HpaSpec& spec, absl::Duration downscale, int32_t initial,
              const std::vector<Step>& steps) {
  HpaNormalizer n(spec, downscale);
  n.RecordInitial(S(steps.front().t), initial);
  int32_t current = initial;
  for (const Step& s : steps) {
    const Normalized got = n.Normalize(S(s.t), current, s.proposal);
    EXPECT_EQ(got.stabilized, s.want_stabilized) << "t=" << s.t;
    EXPECT_EQ(got.desired, s.want_desired) << "t=" << s.t;
    n.RecordScale(S(s.t), current, got.desired);
    current = got.desired;
  }
}

TEST(HpaNormalizer, StabilizesScaleDownOverTheWindowEdgeIncluded) {
  // Window 60 s, created over 5 pods (recorded at 0).
  //  0: max(2, 5@0) = 5     15: 5     30: 5     45: 5
  // 60: cutoff 0, 5@0 is exactly a window old and still counts: 5
  // 75: cutoff 15: 5@0 and 2@0 drop out, 3@15 stays: 3
  // 90: cutoff 30: only 1s: 1
  // 105: a rise is not held: 4 (current 1: limit max(2, 4) = 4)
  RunSteps(Legacy(1, 100), S(60), 5,
           {{0, 2, 5, 5},
            {15, 3, 5, 5},
            {30, 1, 5, 5},
            {45, 1, 5, 5},
            {60, 1, 5, 5},
            {75, 1, 3, 3},
            {90, 1, 1, 1},
            {105, 4, 4, 4}});
}

TEST(HpaNormalizer, LegacyClamp) {
  // Scale-up limit max(2 x current, 4).
  Normalized n = Once(Legacy(1, 100), 3, 20);  // max(6, 4) = 6
  EXPECT_EQ(n.desired, 6);
  EXPECT_EQ(n.limit, HpaLimit::kScaleUpLimit);
  EXPECT_EQ(n.stabilized, 20);
  n = Once(Legacy(1, 100), 1, 20);  // max(2, 4) = 4
  EXPECT_EQ(n.desired, 4);
  EXPECT_EQ(n.limit, HpaLimit::kScaleUpLimit);
  n = Once(Legacy(1, 7), 3, 7);  // max 7 > limit 6: the limit binds
  EXPECT_EQ(n.desired, 6);
  EXPECT_EQ(n.limit, HpaLimit::kScaleUpLimit);
  n = Once(Legacy(1, 5), 3, 20);  // max 5 <= limit 6: max binds
  EXPECT_EQ(n.desired, 5);
  EXPECT_EQ(n.limit, HpaLimit::kMax);
  n = Once(Legacy(2, 100), 3, 0);  // below min
  EXPECT_EQ(n.desired, 2);
  EXPECT_EQ(n.limit, HpaLimit::kMin);
  n = Once(Legacy(1, 100), 3, 5);
  EXPECT_EQ(n.desired, 5);
  EXPECT_EQ(n.limit, HpaLimit::kNone);
}

TEST(HpaNormalizer, BehaviorHoldsScaleUpForItsWindowEdgeExcluded) {
  // The API defaults with a 60 s window both ways; created over 4 pods.
  // 15..45: up = min(8, 4@0, ...) = 4: held at 4.
  // 60: cutoff 0, 4@0 is not newer than it: up = 8. Policies from 4:
  //     Pods 4 + 4 = 8, Percent ceil(4 x 2) = 8: 8.
  RunSteps(WithBehavior(DefaultBehavior(S(60)).scale_up,
                        DefaultBehavior(S(60)).scale_down),
           S(300), 4,
           {{0, 4, 4, 4},
            {15, 8, 4, 4},
            {30, 8, 4, 4},
            {45, 8, 4, 4},
            {60, 8, 8, 8}});
}

TEST(HpaNormalizer, BehaviorHoldsScaleDownForItsWindow) {
  // 15..45: down = max(2, 8@0, ...) = 8: held at 8.
  // 60: only 2s are newer than the cutoff: 2. Policy Percent 100 from 8:
  //     trunc(8 x 0) = 0, below min 1: min binds, 2 is within: 2.
  const HpaBehavior b = DefaultBehavior(S(60));
  RunSteps(WithBehavior(b.scale_up, b.scale_down), S(300), 8,
           {{0, 8, 8, 8},
            {15, 2, 8, 8},
            {30, 2, 8, 8},
            {45, 2, 8, 8},
            {60, 2, 2, 2}});
}

TEST(HpaNormalizer, ScaleDownWindowUnsetIsTheControllersFlag) {
  // Scale-down window unset: the controller's 30 s (downscale flag).
  // 15: max(1, 3@0, 3@0) = 3.  30: 3@0 is not newer than 0: 1.
  HpaSpec spec = WithBehavior(Rules(SelectPolicy::kMax, {Pods(4, 15)}),
                              Rules(SelectPolicy::kMax, {Percent(100, 15)}));
  spec.behavior->scale_down.stabilization_window.reset();
  RunSteps(spec, S(30), 3, {{0, 3, 3, 3}, {15, 1, 3, 3}, {30, 1, 1, 1}});
}

TEST(HpaNormalizer, PodsPolicyUpCountsItsPeriod) {
  // Pods 2 per 60 s. 0: 3 + 2 = 5.  15: the +2 at 0 is in the period, the
  // period started at 5 - 2 = 3: 5.  60: +2@0 is not newer than 0: 5 + 2.
  RunSteps(WithBehavior(Rules(SelectPolicy::kMax, {Pods(2, 60)}),
                        Rules(SelectPolicy::kMax, {Percent(100, 15)})),
           S(300), 3, {{0, 10, 10, 5}, {15, 10, 10, 5}, {60, 10, 10, 7}});
  const Normalized n =
      Once(WithBehavior(Rules(SelectPolicy::kMax, {Pods(2, 60)}),
                        Rules(SelectPolicy::kMax, {})),
           3, 10);
  EXPECT_EQ(n.limit, HpaLimit::kScaleUpPolicy);
}

TEST(HpaNormalizer, PercentPolicyUpRoundsUp) {
  // Percent 50: ceil(3 x 1.5) = ceil(4.5) = 5.
  const auto spec = WithBehavior(Rules(SelectPolicy::kMax, {Percent(50, 60)}),
                                 Rules(SelectPolicy::kMax, {}));
  EXPECT_EQ(Once(spec, 3, 10).desired, 5);
}

TEST(HpaNormalizer, SelectPolicyMaxOrMinUp) {
  // Pods 4 and Percent 100. From 2: 6 and 4. From 10: 14 and 20.
  const std::vector<ScalingPolicy> both = {Pods(4, 60), Percent(100, 60)};
  const auto max = WithBehavior(Rules(SelectPolicy::kMax, both),
                                Rules(SelectPolicy::kMax, {}));
  const auto min = WithBehavior(Rules(SelectPolicy::kMin, both),
                                Rules(SelectPolicy::kMax, {}));
  EXPECT_EQ(Once(max, 2, 100).desired, 6);
  EXPECT_EQ(Once(min, 2, 100).desired, 4);
  EXPECT_EQ(Once(max, 10, 100).desired, 20);
  EXPECT_EQ(Once(min, 10, 100).desired, 14);
}

TEST(HpaNormalizer, DisabledPolicyHoldsTheScale) {
  const auto up_off = WithBehavior(Rules(SelectPolicy::kDisabled, {}),
                                   Rules(SelectPolicy::kMax, {}));
  Normalized n = Once(up_off, 3, 10);
  EXPECT_EQ(n.desired, 3);
  EXPECT_EQ(n.limit, HpaLimit::kScaleUpPolicy);
  const auto down_off =
      WithBehavior(Rules(SelectPolicy::kMax, {Pods(4, 15)}),
                   Rules(SelectPolicy::kDisabled, {Percent(100, 15)}));
  n = Once(down_off, 10, 1);
  EXPECT_EQ(n.desired, 10);
  EXPECT_EQ(n.limit, HpaLimit::kScaleDownPolicy);
}

TEST(HpaNormalizer, PercentPolicyDownTruncatesAndCountsItsPeriod) {
  // Percent 50 per 60 s. 0: trunc(10 x 0.5) = 5.  15: the period started
  // at 5 + 5 = 10: 5 again.  60: -5@0 is not newer: trunc(5 x 0.5) = 2.
  RunSteps(WithBehavior(Rules(SelectPolicy::kMax, {Pods(4, 15)}),
                        Rules(SelectPolicy::kMax, {Percent(50, 60)})),
           S(300), 10, {{0, 1, 1, 5}, {15, 1, 1, 5}, {60, 1, 1, 2}});
  // Percent 30: trunc(5 x 0.7) = trunc(3.5) = 3.
  const auto spec = WithBehavior(Rules(SelectPolicy::kMax, {}),
                                 Rules(SelectPolicy::kMax, {Percent(30, 60)}));
  const Normalized n = Once(spec, 5, 1);
  EXPECT_EQ(n.desired, 3);
  EXPECT_EQ(n.limit, HpaLimit::kScaleDownPolicy);
}

TEST(HpaNormalizer, SelectPolicyMaxOrMinDown) {
  // Pods 1 and Percent 50 from 10: 9 and 5. Max (the largest change) takes
  // 5, Min takes 9.
  const std::vector<ScalingPolicy> both = {Pods(1, 60), Percent(50, 60)};
  const auto max = WithBehavior(Rules(SelectPolicy::kMax, {}),
                                Rules(SelectPolicy::kMax, both));
  const auto min = WithBehavior(Rules(SelectPolicy::kMax, {}),
                                Rules(SelectPolicy::kMin, both));
  EXPECT_EQ(Once(max, 10, 1).desired, 5);
  EXPECT_EQ(Once(min, 10, 1).desired, 9);
}

TEST(HpaNormalizer, MinAndMaxWithBehavior) {
  const HpaBehavior b = DefaultBehavior(absl::ZeroDuration());
  // Down: Percent 100 from 4 allows 0; min 2 binds.
  Normalized n = Once(WithBehavior(b.scale_up, b.scale_down, 2, 100), 4, 0);
  EXPECT_EQ(n.desired, 2);
  EXPECT_EQ(n.limit, HpaLimit::kMin);
  // Up: the policies allow 8 from 4; max 6 binds.
  n = Once(WithBehavior(b.scale_up, b.scale_down, 1, 6), 4, 20);
  EXPECT_EQ(n.desired, 6);
  EXPECT_EQ(n.limit, HpaLimit::kMax);
}

TEST(HpaNormalizer, ScaleUpEventsCountForTheScaleDownPeriod) {
  // Up Pods 4 per 15 s, down Pods 1 per 120 s. 0: 2 -> 6 (+4).
  // 30: the down period started at 6 - 4 = 2: limit 1, so 1 stands.
  const auto spec = WithBehavior(Rules(SelectPolicy::kMax, {Pods(4, 15)}),
                                 Rules(SelectPolicy::kMax, {Pods(1, 120)}));
  RunSteps(spec, S(300), 2, {{0, 6, 6, 6}, {30, 1, 1, 1}});
}

TEST(HpaNormalizer, OutdatedEventsAreOverwrittenAsKubernetesDoes) {
  // 0: 2 -> 6 (+4@0).  30: 6 -> 7; storing +1 marks +4@0 (older than the
  // longest scale-up period, 15 s) outdated and overwrites it.
  // 40: the down period started at 7 - 1 = 6: limit 5 (with +4@0 still
  // there it would have been 2 - 1 = 1).
  const auto spec = WithBehavior(Rules(SelectPolicy::kMax, {Pods(4, 15)}),
                                 Rules(SelectPolicy::kMax, {Pods(1, 120)}));
  RunSteps(spec, S(300), 2, {{0, 6, 6, 6}, {30, 7, 7, 7}, {40, 1, 1, 5}});
}

TEST(HpaLimitName, Names) {
  EXPECT_EQ(HpaLimitName(HpaLimit::kNone), "none");
  EXPECT_EQ(HpaLimitName(HpaLimit::kScaleUpLimit), "scale-up-limit");
  EXPECT_EQ(HpaLimitName(HpaLimit::kScaleDownPolicy), "scale-down-policy");
}

}  // namespace
}  // namespace knbench::autoscaler_model
