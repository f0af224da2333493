#ifndef KNBENCH_LOAD_DRIVER_SUMMARY_H_
#define KNBENCH_LOAD_DRIVER_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knbench/load_driver/breakdown.h"
#include "knbench/load_driver/histogram.h"
#include "knbench/load_driver/recorder.h"
#include "knbench/load_driver/schedule.h"
#include "knbench/load_driver/threshold.h"

namespace knbench::load_driver {

// Latency statistics in milliseconds; absent (null) when there is no sample.
struct LatencyStats {
  int64_t count = 0;
  double min = 0, mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0,
         max = 0;
};

struct LagStats {
  int64_t count = 0;
  double p50 = 0, p99 = 0, max = 0;
};

struct PhaseSummary {
  int index = 0;
  std::string spec;
  std::string kind;
  double start_s = 0;
  double duration_s = 0;
  double expected = 0;
  int64_t scheduled = 0, sent = 0, success = 0, failure = 0, dropped = 0;
  LatencyStats latency_ms;  // non-warm-up successes, from actual send
};

// Everything the run reports at the end; formatters are pure functions of it.
struct Summary {
  std::string target;
  std::string schedule;
  std::string arrivals;
  int64_t scheduled = 0, sent = 0, success = 0, failure = 0, dropped = 0;
  int64_t warmup = 0;  // rows marked warm-up (counted above as well)
  double duration_s = 0;
  double achieved_rps = 0;
  LatencyStats latency_ms;           // from actual send
  LatencyStats intended_latency_ms;  // from intended send
  LagStats lag_ms;
  // Where latency went, over non-warm-up successes that carried the
  // router's waits; absent when none did.
  std::optional<Breakdown> breakdown;
  std::vector<PhaseSummary> phases;
  std::map<std::string, int64_t> pods;    // successes per pod
  std::map<std::string, int64_t> errors;  // failures per gRPC code
  std::optional<std::string> write_error;
  // --threshold results (threshold.h); formatted only when there are any.
  std::vector<ThresholdOutcome> thresholds;
};

// Run facts that do not come from the rows.
struct RunInfo {
  std::string target;
  std::string arrivals;
  double duration_s = 0;  // from the start until scheduling ended
  std::optional<std::string> write_error;
};

// Aggregates rows (on the recorder's writer thread) into a Summary.
// Latency and lag statistics exclude warm-up rows; counts include them.
class SummaryAccumulator : public RowConsumer {
 public:
  explicit SummaryAccumulator(const Schedule& schedule);
  void Consume(const Row& row) override;
  Summary Build(const RunInfo& info) const;

 private:
  struct PerPhase {
    int64_t scheduled = 0, success = 0, failure = 0, dropped = 0;
    LogLinearHistogram latency_us;
  };
  const Schedule& schedule_;
  int64_t scheduled_ = 0, success_ = 0, failure_ = 0, dropped_ = 0, warmup_ = 0;
  LogLinearHistogram latency_us_, intended_us_, lag_us_;
  BreakdownAccumulator breakdown_;
  std::vector<PerPhase> phases_;
  std::map<std::string, int64_t> pods_;
  std::map<std::string, int64_t> errors_;
};

LatencyStats StatsFromMicros(const LogLinearHistogram& h);

std::string FormatSummaryText(const Summary& s);
std::string FormatSummaryJson(const Summary& s);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_SUMMARY_H_
