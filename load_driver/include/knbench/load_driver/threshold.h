#ifndef KNBENCH_LOAD_DRIVER_THRESHOLD_H_
#define KNBENCH_LOAD_DRIVER_THRESHOLD_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "knbench/common/json.h"

namespace knbench::load_driver {

struct Summary;

// Exit status of a run that completed but violated a --threshold (k6's).
inline constexpr int kExitThresholds = 99;

// A pass/fail criterion on the run's summary, like k6's thresholds:
//   METRIC OP VALUE, OP one of < <= > >=
//   latency: p50 p90 p95 p99 p99.9 min mean max, from the intended send
//     (prefix send_ for the actual send, intended_ to say it); VALUE is a
//     duration with its unit: 200ms, 1.5s, 800us
//   failure_rate: (failure + dropped) / scheduled, VALUE 0.01 or 1%
//   achieved_rps: requests sent per second over the run
// Latencies leave out the warm-up (as the summary does); counts include it.
struct Threshold {
  enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual };
  std::string spec;    // as given, e.g. "p99<200ms"
  std::string metric;  // canonical: "intended p99", "send p50",
                       // "failure_rate", "achieved_rps"
  Op op = Op::kLess;
  double limit = 0;  // ms for latencies
};

// One spec; a comma-separated list; every occurrence of a repeated flag.
absl::StatusOr<Threshold> ParseThreshold(absl::string_view spec);
absl::StatusOr<std::vector<Threshold>> ParseThresholds(absl::string_view list);

struct ThresholdOutcome {
  std::string spec;
  std::optional<double> observed;  // none: no sample to judge (a failure)
  std::string unit;                // "ms", "" or "rps"
  bool ok = false;
};

std::vector<ThresholdOutcome> EvaluateThresholds(
    const std::vector<Threshold>& thresholds, const Summary& summary);
bool AllPassed(const std::vector<ThresholdOutcome>& outcomes);

// "p99<200ms ok (145.200 ms)  failure_rate<0.01 FAILED (0.0340)"
std::string FormatThresholdsText(const std::vector<ThresholdOutcome>& o);
// [{"spec": "p99<200ms", "ok": true, "observed": 145.2, "unit": "ms"}, ...]
// (observed to 4 decimals; null without samples).
Json ThresholdsJson(const std::vector<ThresholdOutcome>& o);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_THRESHOLD_H_
