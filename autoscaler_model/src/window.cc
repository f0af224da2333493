#include "knbench/autoscaler_model/window.h"

#include <algorithm>
#include <cmath>

namespace knbench::autoscaler_model {
namespace {

double At(const std::vector<double>& values, int64_t s) {
  if (s < 0 || s >= static_cast<int64_t>(values.size())) return 0.0;
  return values[static_cast<size_t>(s)];
}

}  // namespace

double LinearWindowAverage(const std::vector<double>& values, int64_t now_s,
                           int64_t window_buckets) {
  if (now_s <= 0 || window_buckets <= 0) return 0.0;
  // Every second from 0 counts as written (idle seconds as 0), so the
  // number of valid buckets is min(now_s, window).
  const int64_t n = std::min(now_s, window_buckets);
  double sum = 0;
  for (int64_t s = now_s - n; s < now_s; ++s) sum += At(values, s);
  // Knative rounds window averages to 6 decimals; do the same so that exact
  // multiples of the target do not round up by float noise.
  return std::round(sum / static_cast<double>(n) * 1e6) / 1e6;
}

double SmoothingCoefficient(int64_t window_buckets) {
  const double nb = static_cast<double>(std::max<int64_t>(1, window_buckets));
  return std::max(1.0 - std::pow(1.0 - 0.9999, 1.0 / nb), 0.2);
}

double WeightedWindowAverage(const std::vector<double>& values, int64_t now_s,
                             int64_t window_buckets) {
  if (now_s <= 0 || window_buckets <= 0) return 0.0;
  const double a = SmoothingCoefficient(window_buckets);
  double weight = a;
  double sum = 0;
  for (int64_t i = 0; i < window_buckets; ++i) {
    sum += At(values, now_s - 1 - i) * weight;
    weight *= 1.0 - a;
  }
  return sum;
}

}  // namespace knbench::autoscaler_model
