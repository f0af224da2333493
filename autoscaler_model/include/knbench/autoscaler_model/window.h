// Window averages over a per-second metric series, as Knative's metric
// collector computes them from its 1 s buckets.
//
// values[s] is the metric over second s, i.e. [s, s+1). A decision at time
// `now_s` sees the buckets s < now_s; seconds past the end of `values` count
// as 0 (no traffic).
#ifndef KNBENCH_AUTOSCALER_MODEL_WINDOW_H_
#define KNBENCH_AUTOSCALER_MODEL_WINDOW_H_

#include <cstdint>
#include <vector>

namespace knbench::autoscaler_model {

// Mean of the last `window_buckets` buckets before now_s. Before a whole
// window of data exists it averages over the buckets seen so far (Knative
// divides by min(buckets since first write, window)). 0 when now_s <= 0.
double LinearWindowAverage(const std::vector<double>& values, int64_t now_s,
                           int64_t window_buckets);

// Knative's weighted-exponential average: the newest bucket weighs a, the one
// before a(1-a), then a(1-a)^2 ... over the window, not renormalised, with
// a = SmoothingCoefficient(window_buckets).
double WeightedWindowAverage(const std::vector<double>& values, int64_t now_s,
                             int64_t window_buckets);

// max(1 - (1 - 0.9999)^(1/buckets), 0.2): weights sum to at least 99.99 % over
// the window, and never decay slower than 0.2 per bucket.
double SmoothingCoefficient(int64_t window_buckets);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_WINDOW_H_
