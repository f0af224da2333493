#include "knbench/common/buckets.h"

#include <cmath>

#include "gtest/gtest.h"

namespace knbench {
namespace {

// The promise of the seconds buckets: from 100 us to 60 s, no bucket is wider
// than 10 % of its lower bound, so a histogram_quantile is within 10 %.
// (The millisecond buckets are checked in metrics_endpoint_test.cc.)
TEST(BucketsTest, SecondBucketsCover100usTo60sWithin10Percent) {
  const std::vector<double> b = LatencyBucketsSeconds();
  ASSERT_EQ(b.size(), 155u);
  EXPECT_DOUBLE_EQ(b.front(), 1e-4);
  EXPECT_GE(b.back(), 60.0);
  EXPECT_LT(b[b.size() - 2], 60.0);  // no bound more than needed
  double widest = 0;
  for (size_t i = 1; i < b.size(); ++i) {
    ASSERT_GT(b[i], b[i - 1]);
    widest = std::max(widest, b[i] / b[i - 1] - 1);
  }
  EXPECT_LE(widest, 0.10);
  EXPECT_NEAR(widest, kLatencyBucketsSecondsRelativeError, 1e-12);
  // Whole doublings land on exact powers of two of 100 us.
  EXPECT_DOUBLE_EQ(b[8], 2e-4);
  EXPECT_DOUBLE_EQ(b[80], 1e-4 * 1024);
}

}  // namespace
}  // namespace knbench
