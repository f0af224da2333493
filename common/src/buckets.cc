#include "knbench/common/buckets.h"

#include <cmath>

namespace knbench {

std::vector<double> LatencyBucketsMs() {
  std::vector<double> bounds;
  double bound = 1;
  for (int i = 0; i < 15; ++i, bound *= 2) bounds.push_back(bound);
  return bounds;
}

std::vector<double> LatencyBucketsSeconds() {
  // Eight buckets per doubling; 19.25 doublings of 100 us pass 60 s. Each
  // bound is computed from k (not multiplied up) so none drifts.
  constexpr int kPerDoubling = 8;
  constexpr int kBounds = 155;
  std::vector<double> bounds;
  bounds.reserve(kBounds);
  for (int k = 0; k < kBounds; ++k) {
    bounds.push_back(1e-4 * std::exp2(static_cast<double>(k) / kPerDoubling));
  }
  return bounds;
}

}  // namespace knbench
