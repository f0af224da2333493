#ifndef KNBENCH_COMMON_BUCKETS_H_
#define KNBENCH_COMMON_BUCKETS_H_

#include <vector>

namespace knbench {

// The original project's latency buckets in milliseconds: 1, 2, 4 ... 16384
// (15 exponential buckets, factor 2). Every *_latency_ms histogram of the
// worker and the driver uses them so dashboards can compare the two.
std::vector<double> LatencyBucketsMs();

// Buckets of the *_latency_seconds histograms, for quantiles: 100 us times
// 2^(k/8), k = 0 .. 154, so from 100 us to 62.3 s (155 finite bounds;
// Prometheus adds +Inf). Inside one bucket histogram_quantile's linear
// interpolation is off by at most the bucket's width: 2^(1/8) - 1 = 9.05 %
// of the value, for any quantile between 100 us and 62.3 s.
std::vector<double> LatencyBucketsSeconds();

// 2^(1/8) - 1: the largest relative error of a quantile from
// LatencyBucketsSeconds() (see docs/analysis.md).
inline constexpr double kLatencyBucketsSecondsRelativeError =
    0.09050773266525769;

}  // namespace knbench

#endif  // KNBENCH_COMMON_BUCKETS_H_
