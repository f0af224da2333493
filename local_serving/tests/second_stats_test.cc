#include "knbench/local_serving/second_stats.h"

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

absl::Time At(double seconds) { return kStart + absl::Seconds(seconds); }

TEST(SecondStats, TimeAveragedConcurrencyAndArrivals) {
  SecondStats s(kStart);
  s.Arrive(At(0.5));   // A: 0.5 .. 1.5
  s.Arrive(At(0.75));  // B: 0.75 .. 2.25
  s.Depart(At(1.5));
  s.Depart(At(2.25));
  const auto ended = s.TakeEnded(At(3.0));
  ASSERT_EQ(ended.size(), 3u);
  // s0: A 0.5 + B 0.25; s1: A 0.5 + B 1.0; s2: B 0.25.
  EXPECT_DOUBLE_EQ(ended[0].concurrency, 0.75);
  EXPECT_DOUBLE_EQ(ended[1].concurrency, 1.5);
  EXPECT_DOUBLE_EQ(ended[2].concurrency, 0.25);
  EXPECT_EQ(ended[0].arrivals, 2);
  EXPECT_EQ(ended[1].arrivals, 0);
  EXPECT_TRUE(ended[1].active);  // in the system from its start
  EXPECT_TRUE(ended[2].active);
  EXPECT_EQ(ended[2].second, 2);
  // Each second is returned once; an idle second is inactive.
  const auto later = s.TakeEnded(At(4.0));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].second, 3);
  EXPECT_FALSE(later[0].active);
  EXPECT_DOUBLE_EQ(later[0].concurrency, 0);
}

TEST(SecondStats, OpenSecondShowsActivityAtOnce) {
  SecondStats s(kStart);
  EXPECT_FALSE(s.Open(At(0.2)).active);
  s.Arrive(At(0.3));
  const SecondStats::Second open = s.Open(At(0.4));
  EXPECT_EQ(open.second, 0);
  EXPECT_TRUE(open.active);
  EXPECT_EQ(open.arrivals, 1);
  EXPECT_EQ(s.in_system(), 1);
}

TEST(SecondStats, LateTimestampsAreClampedNotNegative) {
  // Another thread's event stamped just before the last one seen.
  SecondStats s(kStart);
  s.Arrive(At(0.6));
  s.Depart(At(0.5));
  const auto ended = s.TakeEnded(At(1.0));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_DOUBLE_EQ(ended[0].concurrency, 0);
  EXPECT_EQ(s.in_system(), 0);
}

}  // namespace
}  // namespace knbench::local_serving
