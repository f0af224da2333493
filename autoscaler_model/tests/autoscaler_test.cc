// The Autoscaler's poke rules; whole runs are in simulator_test.cc.
#include "knbench/autoscaler_model/autoscaler.h"

#include "gtest/gtest.h"
#include "test_configs.h"

namespace knbench::autoscaler_model {
namespace {

TEST(Autoscaler, NoPokeBeforeTheFirstDecision) {
  // Knative's decider starts at "unknown" (-1), not 0: traffic in second 0
  // waits for the first tick.
  Autoscaler a(Target10(0), 0);
  EXPECT_FALSE(a.Poke(0, 0).has_value());
}

TEST(Autoscaler, PokesOnlyWhenTheDeciderWantedZero) {
  KpaConfig c = Target10(0);
  c.initial_scale = 0;
  Autoscaler a(c, 0);
  a.Record(0);
  a.Record(0);
  const TickRow tick = a.Tick(2, 0);
  EXPECT_EQ(tick.decider_pods, 0);
  EXPECT_EQ(tick.desired_pods, 0);
  // Second 2 is being recorded: a request now decides at once.
  const auto poke = a.Poke(2, 0);
  ASSERT_TRUE(poke.has_value());
  EXPECT_TRUE(poke->poke);
  EXPECT_EQ(poke->time_s, 2);
  EXPECT_EQ(poke->decider_pods, 1);
  EXPECT_EQ(poke->desired_pods, 1);
  EXPECT_EQ(a.scale(), 1);
  // The decider now wants a pod: no second poke.
  EXPECT_FALSE(a.Poke(2, 0).has_value());
}

TEST(Autoscaler, PokeNeedsTheOpenSecond) {
  KpaConfig c = Target10(0);
  c.initial_scale = 0;
  Autoscaler a(c, 0);
  a.Record(0);
  a.Record(0);
  EXPECT_EQ(a.Tick(2, 0).decider_pods, 0);
  // Second 2 not recorded yet is the open one; 3 is not.
  EXPECT_FALSE(a.Poke(3, 0).has_value());
  a.Record(0);
  EXPECT_FALSE(a.Poke(2, 0).has_value());
  EXPECT_TRUE(a.Poke(3, 0).has_value());
}

TEST(Autoscaler, ActivationScaleOnPoke) {
  KpaConfig c = Target10(0);
  c.initial_scale = 0;
  c.activation_scale = 3;
  Autoscaler a(c, 0);
  a.Record(0);
  a.Record(0);
  a.Tick(2, 0);
  const auto poke = a.Poke(2, 0);
  ASSERT_TRUE(poke.has_value());
  EXPECT_EQ(poke->desired_pods, 3);
}

}  // namespace
}  // namespace knbench::autoscaler_model
