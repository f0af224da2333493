#ifndef KNBENCH_COMMON_BUCKETS_H_
#define KNBENCH_COMMON_BUCKETS_H_

#include <vector>

namespace knbench {

// The original project's latency buckets in milliseconds: 1, 2, 4 ... 16384
// (15 exponential buckets, factor 2). Every *_latency_ms histogram of the
// worker and the driver uses them so dashboards can compare the two.
std::vector<double> LatencyBucketsMs();

}  // namespace knbench

#endif  // KNBENCH_COMMON_BUCKETS_H_
