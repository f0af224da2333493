// Table-driven checks of one KPA decision per tick. Each row's expected pods
// and excess burst capacity (EBC) are worked out by hand from the definition:
//   ready'  = max(1, ready)
//   maxUp   = ceil(max-scale-up-rate * ready')
//   maxDown = reachable ? floor(ready' / max-scale-down-rate) : 0
//   dspc    = ceil(stable / target), dppc = ceil(panic / target)
//   pods    = clamp(dspc, maxDown, maxUp)  (panic: max with clamp(dppc),
//             never below the panic peak)
//   panic while dppc / ready' >= threshold, and until a stable window after
//   the last such tick
//   EBC     = floor(ready * total - TBC - panic)  (TBC 0 -> 0, -1 -> -1)
#include "knbench/autoscaler_model/decider.h"

#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_configs.h"

namespace knbench::autoscaler_model {
namespace {

struct Step {
  int64_t t;  // seconds
  double stable;
  double panic;
  int32_t ready;
  int32_t want_pods;
  int32_t want_ebc;
  bool want_panic;
};

struct Case {
  std::string name;
  KpaConfig config;
  int32_t ready_at_start;
  std::vector<Step> steps;
};

KpaConfig With(KpaConfig c, void (*edit)(KpaConfig&)) {
  edit(c);
  return c;
}

std::vector<Case> Cases() {
  return {
      // Defaults: target 100 x 70 % = 70, total 100, TBC 211.
      // t=2: dspc=ceil(140/70)=2, dppc=2, 2/2=1 < 2 -> stable, maxDown=1
      //      -> 2; EBC=floor(2*100-211-140)=-151.
      // t=4: ready 3, stable 100 -> ceil(1.43)=2, maxDown=floor(3/2)=1 -> 2;
      //      EBC=floor(300-211-100)=-11.
      // t=6: ready 3, 250 -> ceil(3.57)=4; dppc 4/3 < 2 -> 4;
      //      EBC=floor(300-211-250)=-161.
      {"steady stable mode",
       KpaConfig{},
       1,
       {{2, 140, 140, 2, 2, -151, false},
        {4, 100, 100, 3, 2, -11, false},
        {6, 250, 250, 3, 4, -161, false}}},
      // t=2: ready 1, panic 40 -> dppc 4, 4/1 >= 2: panic; pods max(1,4)=4.
      //      EBC=floor(1*10-211-40)=-241.
      // t=4: ready 4, panic 80 -> dppc 8, 8/4=2 >= 2: pods 8 (doubling).
      //      EBC=floor(40-211-80)=-251.
      // t=6: ready 8, panic 160 -> 16. EBC=floor(80-211-160)=-291.
      // t=8: ready 16, panic 40 -> dppc 4 < 32: still panicking (last high
      //      tick t=6), never scale down: 16. EBC=floor(160-211-40)=-91.
      {"panic doubling",
       Target10(211),
       1,
       {{2, 10, 40, 1, 4, -241, true},
        {4, 20, 80, 4, 8, -251, true},
        {6, 40, 160, 8, 16, -291, true},
        {8, 40, 40, 16, 16, -91, true}}},
      // max-scale-up-rate 2: maxUp = ceil(2 * ready).
      // t=2: ready 2, want 10 -> maxUp 4 -> 4 (panic: 10/2 >= 2). TBC 0 ->
      //      EBC 0.
      // t=4: ready 4 -> maxUp 8 -> 8.   t=6: ready 8 -> maxUp 16 -> 10.
      {"scale-up rate limit",
       With(Target10(0), [](KpaConfig& c) { c.max_scale_up_rate = 2; }),
       1,
       {{2, 100, 100, 2, 4, 0, true},
        {4, 100, 100, 4, 8, 0, true},
        {6, 100, 100, 8, 10, 0, true}}},
      // max-scale-up-rate 1.1 at 1 ready pod: ceil(1.1)=2, still one more.
      {"scale-up rate rounds up",
       With(Target10(0), [](KpaConfig& c) { c.max_scale_up_rate = 1.1; }),
       1,
       {{2, 30, 30, 1, 2, 0, true}}},
      // No load, max-scale-down-rate 2: maxDown = floor(ready / 2).
      // ready 10 -> 5, 5 -> 2, 2 -> 1, 1 -> floor(0.5)=0.
      {"scale-down rate limit",
       Target10(0),
       1,
       {{2, 0, 0, 10, 5, 0, false},
        {4, 0, 0, 5, 2, 0, false},
        {6, 0, 0, 2, 1, 0, false},
        {8, 0, 0, 1, 0, 0, false}}},
      // max-scale-down-rate 4: ready 10 -> floor(2.5)=2.
      {"scale-down rate 4",
       With(Target10(0), [](KpaConfig& c) { c.max_scale_down_rate = 4; }),
       1,
       {{2, 0, 0, 10, 2, 0, false}}},
      // No ready pods (revision unreachable from the data path): rates use
      // ready'=1; 25 -> dppc 3, 3/1 >= 2: panic, 3 pods. Capacity uses the
      // real count 0: EBC=floor(0*10-211-25)=-236 (activator stays).
      {"no ready pods", Target10(211), 0, {{2, 25, 25, 0, 3, -236, true}}},
      // reachable=false (no route): maxDown=0, so 4 ready pods with no load
      // go to 0 at once (reachable would give floor(4/2)=2).
      // EBC=floor(4*10-211-0)=-171.
      {"unreachable revision",
       With(Target10(211), [](KpaConfig& c) { c.reachable = false; }),
       1,
       {{2, 0, 0, 4, 0, -171, false}}},
      // TBC -1: EBC is always -1 (activator always in path).
      // t=2: 10 -> 1 pod, but maxDown=floor(5/2)=2 -> 2. t=4: 500 -> 50.
      {"unlimited target burst capacity",
       Target10(-1),
       1,
       {{2, 10, 10, 5, 2, -1, false}, {4, 500, 10, 5, 50, -1, false}}},
      // TBC 0: EBC is always 0 (activator only at zero scale).
      // t=2: 10 -> 1 pod, but maxDown=floor(5/2)=2 -> 2.
      {"zero target burst capacity",
       Target10(0),
       1,
       {{2, 10, 10, 5, 2, 0, false}, {4, 500, 10, 5, 50, 0, false}}},
      // Panic entered at t=2 (40 -> dppc 4 >= 2*1), last high tick t=2.
      // Window 60s: panic holds while 2+60 >= now, so through t=62, and
      // holds the peak 4. At t=64 it ends: dspc=ceil(10/10)=1, maxDown=
      // floor(4/2)=2 -> 2. TBC 0 -> EBC 0.
      {"panic exit one stable window after last high tick",
       Target10(0),
       1,
       {{2, 10, 40, 1, 4, 0, true},
        {4, 10, 10, 4, 4, 0, true},
        {30, 10, 10, 4, 4, 0, true},
        {62, 10, 10, 4, 4, 0, true},
        {64, 10, 10, 4, 2, 0, false}}},
      // A new high tick at t=20 pushes the exit to after t=80.
      {"panic extended by a later high tick",
       Target10(0),
       1,
       {{2, 10, 40, 1, 4, 0, true},
        {20, 10, 80, 4, 8, 0, true},
        {64, 10, 10, 8, 8, 0, true},
        {80, 10, 10, 8, 8, 0, true},
        {82, 10, 10, 8, 4, 0, false}}},
      // scale-down-delay 10s: pods = max of decisions in (now-10, now].
      // t=2: 50/10 -> 5 (5/5=1: no panic). t=4: 20 -> 2 (maxDown
      // floor(5/2)=2) but 5 from t=2 is in the window -> 5; same up to t=10
      // (10-2=8 < 10). t=12: t=2 has left (12-2=10) -> max{2,...} = 2.
      {"scale-down delay",
       With(Target10(0),
            [](KpaConfig& c) { c.scale_down_delay = absl::Seconds(10); }),
       1,
       {{2, 50, 50, 5, 5, 0, false},
        {4, 20, 20, 5, 5, 0, false},
        {10, 20, 20, 5, 5, 0, false},
        {12, 20, 20, 5, 2, 0, false}}},
      // Created over 3 ready pods (autoscaler restart): starts in panic at
      // t=0 holding 3; no load -> 3 until 0+60 < now, i.e. t=62 -> floor(3/2)
      // = 1.
      {"restart over several pods starts in panic",
       Target10(0),
       3,
       {{2, 0, 0, 3, 3, 0, true},
        {60, 0, 0, 3, 3, 0, true},
        {62, 0, 0, 3, 1, 0, false}}},
      // rps: default target 200 x 70 % = 140; 300 rps on 2 pods -> ceil(2.14)
      // = 3, dppc 3/2 < 2. EBC=floor(2*200-211-300)=-111.
      {"rps metric default target",
       With(KpaConfig{}, [](KpaConfig& c) { c.metric = Metric::kRps; }),
       1,
       {{2, 300, 300, 2, 3, -111, false}}},
      // containerConcurrency 5 caps target 10: total 5, target 5*0.7=3.5;
      // 7 -> ceil(2)=2 on 2 pods. EBC with TBC 0 -> 0.
      {"container concurrency caps target",
       With(Target10(0),
            [](KpaConfig& c) {
              c.container_concurrency = 5;
              c.target_utilization_percentage = 70;
            }),
       1,
       {{2, 7, 7, 2, 2, 0, false}}},
      // activation-scale 3: any non-zero wish is at least 3.
      {"activation scale",
       With(Target10(0), [](KpaConfig& c) { c.activation_scale = 3; }),
       1,
       {{2, 5, 5, 1, 3, 0, false}, {4, 0, 0, 1, 0, 0, false}}},
  };
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class DeciderTableTest : public testing::TestWithParam<Case> {};

TEST_P(DeciderTableTest, MatchesHandWorkedDecisions) {
  const Case& c = GetParam();
  ASSERT_TRUE(ValidateConfig(c.config).ok()) << ValidateConfig(c.config);
  Decider decider(c.config, c.ready_at_start);
  for (const Step& s : c.steps) {
    const Decision d =
        decider.Decide(absl::Seconds(s.t), s.stable, s.panic, s.ready);
    EXPECT_EQ(d.desired_pods, s.want_pods) << "t=" << s.t;
    EXPECT_EQ(d.excess_burst_capacity, s.want_ebc) << "t=" << s.t;
    EXPECT_EQ(d.panic_mode, s.want_panic) << "t=" << s.t;
  }
}

INSTANTIATE_TEST_SUITE_P(Kpa, DeciderTableTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char ch : info.param.name) {
                             name +=
                                 std::isalnum(static_cast<unsigned char>(ch))
                                     ? ch
                                     : '_';
                           }
                           return name;
                         });

TEST(ResolveTarget, KnativeRules) {
  KpaConfig c;
  EXPECT_DOUBLE_EQ(ResolveTarget(c).target, 70);  // 100 x 70 %
  EXPECT_DOUBLE_EQ(ResolveTarget(c).total, 100);
  c.container_concurrency = 10;  // no target annotation: cc is the total
  EXPECT_DOUBLE_EQ(ResolveTarget(c).target, 7);
  c.target = 20;  // min(20, cc 10)
  EXPECT_DOUBLE_EQ(ResolveTarget(c).total, 10);
  c.metric = Metric::kRps;  // cc does not cap an rps target
  EXPECT_DOUBLE_EQ(ResolveTarget(c).total, 20);
  EXPECT_DOUBLE_EQ(ResolveTarget(c).target, 14);
  c.target = 0.001;  // floor 0.01
  EXPECT_DOUBLE_EQ(ResolveTarget(c).target, 0.01);
}

TEST(ValidateConfig, RejectsOutOfRangeSettings) {
  KpaConfig c;
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.stable_window = absl::Seconds(5);
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = KpaConfig{};
  c.max_scale_down_rate = 1;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = KpaConfig{};
  c.target_burst_capacity = -2;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = KpaConfig{};
  c.min_scale = 4;
  c.max_scale = 3;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = KpaConfig{};
  c.panic_threshold_percentage = 100;
  EXPECT_FALSE(ValidateConfig(c).ok());
}

TEST(ValidateConfig, RejectsNonFiniteNumbersAndHugePodCounts) {
  // Probed defects: initial-scale 2000000000 and min-scale 2147483647 made
  // the model allocate 11-16 GB; target "inf" overflowed EBC.
  KpaConfig c;
  c.target = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ValidateConfig(c).message(), "target: must be a finite number");
  c = KpaConfig{};
  c.target_burst_capacity = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = KpaConfig{};
  c.initial_scale = 2000000000;
  EXPECT_EQ(ValidateConfig(c).message(),
            "initial-scale: must be at most 10000 (the model's pod limit)");
  c = KpaConfig{};
  c.min_scale = 2147483647;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = KpaConfig{};
  c.min_scale = kMaxPodCount;
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(Decider, HugeTargetsAndLoadsStayInRange) {
  // A finite but huge target: EBC = floor(1 * 1e308 - 211 - 0) saturates at
  // INT32_MAX instead of wrapping to INT32_MIN.
  KpaConfig c;
  c.target = 1e308;
  Decider d(c, 0);
  EXPECT_EQ(d.Decide(absl::Seconds(2), 0, 0, 1).excess_burst_capacity,
            std::numeric_limits<int32_t>::max());
  // A huge load with a huge scale-up rate asks for at most kMaxPodCount.
  KpaConfig fast = Target10(0);
  fast.max_scale_up_rate = 1e300;
  Decider f(fast, 0);
  EXPECT_EQ(f.Decide(absl::Seconds(2), 1e12, 1e12, 1).desired_pods,
            kMaxPodCount);
}

}  // namespace
}  // namespace knbench::autoscaler_model
