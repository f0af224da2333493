// Reads the model's input: the load driver's per-request CSV (from which it
// reconstructs per-second in-flight concurrency and request rate) or a plain
// per-second series "time_s,value[,ready_pods]". The header decides which.
#ifndef KNBENCH_AUTOSCALER_MODEL_INPUT_H_
#define KNBENCH_AUTOSCALER_MODEL_INPUT_H_

#include <cstdint>
#include <istream>
#include <vector>

#include "absl/status/statusor.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/simulator.h"

namespace knbench::autoscaler_model {

struct InputSeries {
  enum class Kind { kDriverCsv, kPlainCsv };
  Kind kind = Kind::kPlainCsv;
  // Driver CSV: seconds from floor(first send or intended send, in epoch s).
  // Plain CSV: seconds from floor(smallest time_s).
  std::vector<double> concurrency;  // driver: mean requests in flight
  std::vector<double> rps;          // driver: requests sent in that second
  std::vector<double> values;       // plain: the metric as given
  std::vector<int32_t> ready_pods;  // plain, optional
  int64_t rows = 0;                 // data rows read
};

// Errors name the line and the field, e.g. "line 7: bad latency_us \"x\"".
absl::StatusOr<InputSeries> ReadInput(std::istream& in);

// The series the autoscaler sees for `metric`. A plain CSV's value column is
// taken to be that metric.
MetricSeries SeriesFor(const InputSeries& input, Metric metric);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_INPUT_H_
