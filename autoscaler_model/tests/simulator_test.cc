// Whole-run cases: decider + scaler (bounds, initial scale, scale to zero,
// activator) + simulated pod start-up, worked out by hand per tick.
#include "knbench/autoscaler_model/simulator.h"

#include <vector>

#include "gtest/gtest.h"
#include "test_configs.h"

namespace knbench::autoscaler_model {
namespace {

std::vector<double> Constant(size_t seconds, double value) {
  return std::vector<double>(seconds, value);
}

const TickRow& At(const std::vector<TickRow>& rows, int64_t t) {
  for (const TickRow& r : rows) {
    if (r.time_s == t) return r;
  }
  ADD_FAILURE() << "no tick at t=" << t;
  static const TickRow kNone;
  return kNone;
}

struct Want {
  int64_t t;
  int32_t desired;
  int32_t ready;
  bool activator;
};

void ExpectTicks(const std::vector<TickRow>& rows,
                 const std::vector<Want>& wants) {
  for (const Want& w : wants) {
    const TickRow& r = At(rows, w.t);
    EXPECT_EQ(r.desired_pods, w.desired) << "t=" << w.t;
    EXPECT_EQ(r.ready_pods, w.ready) << "t=" << w.t;
    EXPECT_EQ(r.activator_in_path, w.activator) << "t=" << w.t;
  }
}

TEST(Simulate, TicksEveryTwoSecondsOverTheInput) {
  MetricSeries s;
  s.values = Constant(9, 0);
  const auto rows = Simulate(s, KpaConfig{}, SimulationOptions{});
  // 9 s of input: decisions at 2, 4, 6, 8 (a tick at t sees seconds < t).
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.front().time_s, 2);
  EXPECT_EQ(rows.back().time_s, 8);
}

TEST(Simulate, SteadyStableMode) {
  // Defaults: target 70, total 100, TBC 211. 50 in flight: ceil(50/70) = 1
  // pod, no panic; EBC = floor(1*100 - 211 - 50) = -161 < 0, so the
  // activator stays in the path.
  MetricSeries s;
  s.values = Constant(20, 50);
  const auto rows = Simulate(s, KpaConfig{}, SimulationOptions{});
  ASSERT_EQ(rows.size(), 10u);
  for (const TickRow& r : rows) {
    EXPECT_EQ(r.desired_pods, 1) << r.time_s;
    EXPECT_EQ(r.ready_pods, 1) << r.time_s;
    EXPECT_FALSE(r.panic_mode) << r.time_s;
    EXPECT_DOUBLE_EQ(r.stable_value, 50);
    EXPECT_EQ(r.excess_burst_capacity, -161);
    EXPECT_TRUE(r.activator_in_path);
  }
}

TEST(Simulate, ScaleToZeroAfterGracePeriod) {
  // target 10, window 6s (panic window 1 s), grace 10s, TBC 0, traffic 10
  // for seconds 0..9, then nothing.
  //  t=2..10: stable 10 -> 1 pod (ready at t=2, active since t=2).
  //  t=12: (4*10 + 2*0)/6 = 6.667 -> 1; t=14: 20/6 = 3.333 -> 1.
  //  t=16: window 10..15 all 0 -> decider 0 (maxDown floor(1/2)=0). Active
  //        for 14 s >= window 6 s: marked inactive, activator in the path,
  //        pod kept.
  //  t=18..24: inside the 10 s grace period: keep 1 pod.
  //  t=26: 26-16 = 10 >= grace: scale to 0 (ready still 1 at decision).
  //  t=28: 0 pods ready, desired 0, activator in the path.
  KpaConfig c = Target10(0);
  c.stable_window = absl::Seconds(6);
  c.scale_to_zero_grace_period = absl::Seconds(10);
  MetricSeries s;
  s.values = Constant(10, 10);
  SimulationOptions o;
  o.extend = absl::Seconds(30);
  const auto rows = Simulate(s, c, o);
  ASSERT_EQ(rows.back().time_s, 40);
  ExpectTicks(rows, {{2, 1, 1, false},
                     {10, 1, 1, false},
                     {12, 1, 1, false},
                     {14, 1, 1, false},
                     {16, 1, 1, true},
                     {24, 1, 1, true},
                     {26, 0, 1, true},
                     {28, 0, 0, true},
                     {40, 0, 0, true}});
  EXPECT_NEAR(At(rows, 12).stable_value, 6.667, 1e-3);
  for (const TickRow& r : rows) EXPECT_EQ(r.excess_burst_capacity, 0);
}

TEST(Simulate, NoScaleToZeroWhenDisabledOrMinScale) {
  KpaConfig c = Target10(0);
  c.stable_window = absl::Seconds(6);
  c.scale_to_zero_grace_period = absl::Seconds(10);
  MetricSeries s;
  s.values = Constant(10, 10);
  SimulationOptions o;
  o.extend = absl::Seconds(60);
  KpaConfig disabled = c;
  disabled.enable_scale_to_zero = false;
  EXPECT_EQ(Simulate(s, disabled, o).back().desired_pods, 1);
  KpaConfig min2 = c;
  min2.min_scale = 2;
  const auto rows = Simulate(s, min2, o);
  EXPECT_EQ(rows.back().desired_pods, 2);
  EXPECT_EQ(rows.back().ready_pods, 2);
  EXPECT_FALSE(rows.back().activator_in_path);
}

TEST(Simulate, ScaleToZeroAtOnceWhenTheActivatorWasInThePathForTheGrace) {
  // As above but TBC 211: EBC = floor(ready*10 - 211 - panic) < 0 on every
  // tick, so the activator is in the path from second 0 (no pod ready yet).
  //  t=2:  1 pod ready, stable 10 -> 1; EBC floor(10-211-10) = -211.
  //  t=16: decider 0, active 14 s >= window: marked inactive, and as the
  //        activator has been in the path for 16 s >= grace 10 s, Knative's
  //        fast path scales to zero at once (not 10 s later as with TBC 0).
  //  t=18: the pod is gone; EBC floor(0 - 211 - 0) = -211.
  KpaConfig c = Target10(211);
  c.stable_window = absl::Seconds(6);
  c.scale_to_zero_grace_period = absl::Seconds(10);
  MetricSeries s;
  s.values = Constant(10, 10);
  SimulationOptions o;
  o.extend = absl::Seconds(10);
  const auto rows = Simulate(s, c, o);
  ExpectTicks(rows, {{2, 1, 1, true},
                     {14, 1, 1, true},
                     {16, 0, 1, true},
                     {18, 0, 0, true},
                     {20, 0, 0, true}});
  EXPECT_EQ(At(rows, 2).excess_burst_capacity, -211);
  EXPECT_EQ(At(rows, 16).excess_burst_capacity, -201);
  EXPECT_EQ(At(rows, 18).excess_burst_capacity, -211);
  EXPECT_EQ(At(rows, 16).decider_pods, 0);
}

TEST(Simulate, PokedFromZeroThenPanics) {
  // Scaled to zero as in ScaleToZeroAfterGracePeriod, then 30 in flight from
  // second 30.
  //  t=30 tick: nothing seen yet (buckets < 30), decider 0.
  //  t=30 poke: the first request reaches a revision whose decider wants 0:
  //        it decides at once, seeing that request as 1 in second 30:
  //        stable (5*0 + 1)/6 -> ceil(0.017) = 1, panic 1 -> 1 over ready'
  //        1: no panic. One pod starts now and is ready at t=32.
  //  t=32: ready 1, stable (2*30)/6 = 10 -> 1, panic 30 -> 3 >= 2*1: panic,
  //        3 pods; active again, so the activator leaves the path (TBC 0).
  //  t=34: 3 ready.
  KpaConfig c = Target10(0);
  c.stable_window = absl::Seconds(6);
  c.scale_to_zero_grace_period = absl::Seconds(10);
  MetricSeries s;
  s.values = Constant(40, 0);
  for (int i = 0; i < 10; ++i) s.values[i] = 10;
  for (int i = 30; i < 40; ++i) s.values[i] = 30;
  const auto rows = Simulate(s, c, SimulationOptions{});
  ExpectTicks(rows, {{28, 0, 0, true},
                     {30, 0, 0, true},
                     {32, 3, 1, false},
                     {34, 3, 3, false}});
  std::vector<TickRow> pokes;
  for (const TickRow& r : rows) {
    if (r.poke) pokes.push_back(r);
  }
  ASSERT_EQ(pokes.size(), 1u);
  EXPECT_EQ(pokes[0].time_s, 30);
  EXPECT_EQ(pokes[0].desired_pods, 1);
  EXPECT_EQ(pokes[0].ready_pods, 0);
  EXPECT_FALSE(pokes[0].panic_mode);
  EXPECT_NEAR(pokes[0].stable_value, 1.0 / 6, 1e-6);
  EXPECT_TRUE(pokes[0].activator_in_path);
  EXPECT_TRUE(At(rows, 32).panic_mode);
}

TEST(Simulate, InitialScaleHeldUntilReached) {
  // initial-scale 3, pods take 4 s, no traffic, TBC 0.
  //  t=2: 0 ready < 3: hold 3 (activator in path: nothing ready).
  //  t=4: 3 ready: initialised; decider 0 load, maxDown floor(3/2) = 1 -> 1.
  //  t=6: 1 ready -> decider 0, but active only 2 s < window 60 s -> 1.
  KpaConfig c = Target10(0);
  c.initial_scale = 3;
  MetricSeries s;
  s.values = Constant(10, 0);
  SimulationOptions o;
  o.pod_start_delay = absl::Seconds(4);
  ExpectTicks(Simulate(s, c, o),
              {{2, 3, 0, true}, {4, 1, 3, false}, {6, 1, 1, false}});
}

TEST(Simulate, MaxScaleBoundsPanic) {
  // 100 in flight wants 10 pods; max-scale 4 caps it; min-scale 2 starts 2.
  KpaConfig c = Target10(0);
  c.min_scale = 2;
  c.max_scale = 4;
  MetricSeries s;
  s.values = Constant(10, 100);
  const auto rows = Simulate(s, c, SimulationOptions{});
  ExpectTicks(rows, {{2, 4, 2, false}, {4, 4, 4, false}, {10, 4, 4, false}});
  EXPECT_TRUE(At(rows, 2).panic_mode);
}

TEST(Simulate, MeasuredReadyPodsAreUsedNotSimulated) {
  // ready_pods given as 2 throughout: the decider starts in panic over 2
  // pods, 40 in flight -> 4 pods wanted; ready stays the measured 2.
  MetricSeries s;
  s.values = Constant(6, 40);
  s.ready_pods = std::vector<int32_t>(6, 2);
  const auto rows = Simulate(s, Target10(0), SimulationOptions{});
  ExpectTicks(rows, {{2, 4, 2, false}, {4, 4, 2, false}, {6, 4, 2, false}});
}

TEST(Simulate, WeightedExponentialAggregation) {
  // Window 60: a = 0.2; two buckets of 10 -> 10*0.2 + 10*0.16 = 3.6.
  // Panic window 6: a = 1 - 10^(-2/3); 10*(1-(1-a)^2) = 9.5358.
  KpaConfig c;
  c.aggregation = Aggregation::kWeightedExponential;
  MetricSeries s;
  s.values = Constant(2, 10);
  const auto rows = Simulate(s, c, SimulationOptions{});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NEAR(rows[0].stable_value, 3.6, 1e-9);
  EXPECT_NEAR(rows[0].panic_value, 9.5358, 1e-4);
}

TEST(FormatTicksCsv, HeaderAndRow) {
  TickRow r;
  r.time_s = 4;
  r.desired_pods = 3;
  r.ready_pods = 2;
  r.panic_mode = true;
  r.stable_value = 1.5;
  r.panic_value = 20.25;
  r.excess_burst_capacity = -7;
  r.activator_in_path = true;
  r.decider_pods = 5;
  r.poke = true;
  EXPECT_EQ(FormatTicksCsv({r}),
            "time_s,desired_pods,ready_pods,panic_mode,stable_value,"
            "panic_value,excess_burst_capacity,activator_in_path,"
            "decider_pods,poke\n"
            "4,3,2,1,1.500,20.250,-7,1,5,1\n");
}

}  // namespace
}  // namespace knbench::autoscaler_model
