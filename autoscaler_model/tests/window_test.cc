#include "knbench/autoscaler_model/window.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace knbench::autoscaler_model {
namespace {

TEST(LinearWindowAverage, AveragesOverSecondsSeenWhileWindowFills) {
  const std::vector<double> v = {10, 20, 30};
  // Only buckets before `now` count: at now=1 just {10}.
  EXPECT_DOUBLE_EQ(LinearWindowAverage(v, 1, 6), 10.0);
  // now=3, window 6: three buckets seen -> (10+20+30)/3.
  EXPECT_DOUBLE_EQ(LinearWindowAverage(v, 3, 6), 20.0);
  // now=3, window 2: {20, 30}.
  EXPECT_DOUBLE_EQ(LinearWindowAverage(v, 3, 2), 25.0);
  // Past the end seconds are idle: now=5 -> (10+20+30+0+0)/5.
  EXPECT_DOUBLE_EQ(LinearWindowAverage(v, 5, 6), 12.0);
  // A whole window after the data: 0.
  EXPECT_DOUBLE_EQ(LinearWindowAverage(v, 9, 6), 0.0);
  EXPECT_DOUBLE_EQ(LinearWindowAverage(v, 0, 6), 0.0);
}

TEST(SmoothingCoefficient, KnativeFormula) {
  // 60 buckets: 1 - 1e-4^(1/60) = 0.1423 < 0.2, so the floor 0.2 applies.
  EXPECT_DOUBLE_EQ(SmoothingCoefficient(60), 0.2);
  // 6 buckets: 1 - 1e-4^(1/6) = 1 - 10^(-2/3) = 0.784557.
  EXPECT_NEAR(SmoothingCoefficient(6), 1.0 - std::pow(10.0, -2.0 / 3.0), 1e-12);
}

TEST(WeightedWindowAverage, NewestBucketWeighsMost) {
  // Window 6: a = 0.784557; constant 10 over a full window sums to
  // 10 * (1 - (1-a)^6) = 10 * (1 - 1e-4) = 9.999.
  const std::vector<double> flat(10, 10.0);
  EXPECT_NEAR(WeightedWindowAverage(flat, 10, 6), 9.999, 1e-9);
  // Window 60 (a = 0.2): [.., 0, 10] newest last -> 10 * 0.2 = 2;
  // [10, 0] -> 10 * 0.2 * 0.8 = 1.6.
  EXPECT_NEAR(WeightedWindowAverage({0, 10}, 2, 60), 2.0, 1e-12);
  EXPECT_NEAR(WeightedWindowAverage({10, 0}, 2, 60), 1.6, 1e-12);
}

}  // namespace
}  // namespace knbench::autoscaler_model
