#include "knbench/common/buckets.h"

namespace knbench {

std::vector<double> LatencyBucketsMs() {
  std::vector<double> bounds;
  double bound = 1;
  for (int i = 0; i < 15; ++i, bound *= 2) bounds.push_back(bound);
  return bounds;
}

}  // namespace knbench
