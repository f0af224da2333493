#ifndef KNBENCH_LOAD_DRIVER_HISTOGRAM_H_
#define KNBENCH_LOAD_DRIVER_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace knbench::load_driver {

// Log-linear histogram of non-negative integers (microseconds), HDR style:
// values below 256 are exact, above that each power of two is split into 128
// buckets, so a percentile (bucket midpoint) is within 0.4 % of the exact
// value. Memory stays fixed however long the run; min, max and mean are exact.
// Not thread-safe: each instance belongs to one thread.
class LogLinearHistogram {
 public:
  void Add(int64_t value);
  void Reset();

  int64_t count() const { return count_; }
  int64_t min() const { return min_; }
  int64_t max() const { return max_; }
  double mean() const;
  // Nearest-rank percentile, q in [0, 1]; 0 when empty.
  double Percentile(double q) const;

  static size_t BucketOf(int64_t value);
  // Midpoint of a bucket's value range.
  static double BucketValue(size_t bucket);

 private:
  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_HISTOGRAM_H_
