#include "knbench/load_driver/histogram.h"

#include <algorithm>
#include <cmath>

namespace knbench::load_driver {
namespace {
constexpr int kSubBits = 7;  // 128 buckets per power of two
constexpr int64_t kSub = int64_t{1} << kSubBits;
constexpr int64_t kExact = 2 * kSub;  // values below are their own bucket
}  // namespace

size_t LogLinearHistogram::BucketOf(int64_t v) {
  if (v < kExact) return static_cast<size_t>(std::max<int64_t>(v, 0));
  const int msb = 63 - __builtin_clzll(static_cast<uint64_t>(v));
  const int shift = msb - kSubBits;  // >= 1; (v >> shift) in [128, 256)
  return static_cast<size_t>(kExact + (shift - 1) * kSub +
                             ((v >> shift) - kSub));
}

double LogLinearHistogram::BucketValue(size_t b) {
  const int64_t i = static_cast<int64_t>(b);
  if (i < kExact) return static_cast<double>(i);
  const int shift = static_cast<int>((i - kExact) / kSub) + 1;
  const int64_t top = (i - kExact) % kSub + kSub;
  const double lower = std::ldexp(static_cast<double>(top), shift);
  return lower + std::ldexp(1.0, shift - 1) - 0.5;
}

void LogLinearHistogram::Add(int64_t v) {
  v = std::max<int64_t>(v, 0);
  const size_t b = BucketOf(v);
  if (b >= buckets_.size()) buckets_.resize(b + 1, 0);
  ++buckets_[b];
  if (count_ == 0 || v < min_) min_ = v;
  if (count_ == 0 || v > max_) max_ = v;
  ++count_;
  sum_ += static_cast<double>(v);
}

void LogLinearHistogram::Reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

double LogLinearHistogram::mean() const {
  return count_ == 0 ? 0 : sum_ / static_cast<double>(count_);
}

double LogLinearHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  int64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      const double v = BucketValue(b);
      return std::clamp(v, static_cast<double>(min_),
                        static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

}  // namespace knbench::load_driver
