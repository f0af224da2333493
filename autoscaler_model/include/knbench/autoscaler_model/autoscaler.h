// One revision's KPA, fed one metric value per second: the decider on every
// tick, a "poke" when traffic reaches a revision whose decider wants zero
// pods, and the scaler after each decision. Both the offline replay
// (Simulate) and local serving's live autoscaler run this class, so given the
// same series and ready-pod counts they decide identically.
#ifndef KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_H_
#define KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/decider.h"
#include "knbench/autoscaler_model/scaler.h"

namespace knbench::autoscaler_model {

// One decision, as kpa_model prints it.
struct TickRow {
  int64_t time_s = 0;
  int32_t desired_pods = 0;  // the scale the KPA applies after bounds
  int32_t ready_pods = 0;    // ready pods the decision saw
  bool panic_mode = false;
  double stable_value = 0;
  double panic_value = 0;
  int32_t excess_burst_capacity = 0;
  // Not a column: the value above is int32's least or most and the true
  // one beyond it (Decision's).
  bool excess_burst_capacity_saturated = false;
  bool activator_in_path = false;
  // The decider's own wish, before min/max and scale to zero: what Knative
  // exports as autoscaler_desired_pods.
  int32_t decider_pods = 0;
  bool poke = false;  // decided on a poke, not on a tick
};

class Autoscaler {
 public:
  // `config` must pass ValidateConfig. `ready_at_start`: ready pods at
  // second 0.
  Autoscaler(const KpaConfig& config, int32_t ready_at_start);

  // Appends the metric value of the next second (second 0 first).
  void Record(double value);
  // Seconds recorded so far.
  int64_t recorded() const { return static_cast<int64_t>(values_.size()); }

  // The decision at second `now_s`, a multiple of the tick interval; it sees
  // the seconds before now_s, which must all be recorded.
  TickRow Tick(int64_t now_s, int32_t ready_pods);

  // Traffic arrived while second `now_s` is the one being recorded
  // (recorded() == now_s; after the tick at now_s, if any). If the decider's
  // last wish was zero pods, it decides at once, as Knative does when the
  // activator reports the first request of a revision at zero: the decision
  // sees that request as a value of 1 in second now_s. Returns that
  // decision, or nothing when no poke was due.
  std::optional<TickRow> Poke(int64_t now_s, int32_t ready_pods);

  // The scale applied last (requested pods).
  int32_t scale() const { return scaler_.current(); }

 private:
  TickRow Decide(int64_t now_s, int64_t window_end_s, int32_t ready_pods);

  KpaConfig config_;
  Decider decider_;
  Scaler scaler_;
  int64_t stable_buckets_;
  int64_t panic_buckets_;
  std::vector<double> values_;
  // The decider's last wish; -1 until the first decision (Knative's
  // "unknown"), so a poke never precedes it.
  int32_t last_decider_pods_ = -1;
};

// The decisions as CSV: kTicksCsvHeader ("time_s,desired_pods,ready_pods,
// panic_mode,stable_value,panic_value,excess_burst_capacity,
// activator_in_path,decider_pods,poke"), then one FormatTickRow line each.
extern const char kTicksCsvHeader[];
std::string FormatTickRow(const TickRow& row);
std::string FormatTicksCsv(const std::vector<TickRow>& rows);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_H_
