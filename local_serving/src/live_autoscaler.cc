#include "knbench/local_serving/live_autoscaler.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"

namespace knbench::local_serving {

namespace am = autoscaler_model;

LiveAutoscaler::LiveAutoscaler(const am::KpaConfig& config, absl::Time start,
                               SecondStats* stats,
                               std::function<int32_t()> ready_pods,
                               std::ostream* stats_out,
                               std::ostream* decisions_out)
    : config_(config),
      start_(start),
      stats_(stats),
      ready_pods_(std::move(ready_pods)),
      stats_out_(stats_out),
      decisions_out_(decisions_out),
      tick_s_(absl::ToInt64Seconds(config.tick_interval)),
      boundary_ready_(ready_pods_()),
      autoscaler_(config, boundary_ready_) {
  if (stats_out_ != nullptr) *stats_out_ << "time_s,value,ready_pods\n";
  if (decisions_out_ != nullptr) *decisions_out_ << am::kTicksCsvHeader;
}

absl::Time LiveAutoscaler::next_boundary() const {
  return start_ + absl::Seconds(autoscaler_.recorded() + 1);
}

std::vector<am::TickRow> LiveAutoscaler::Advance(absl::Time now) {
  std::vector<am::TickRow> rows;
  for (const SecondStats::Second& s : stats_->TakeEnded(now)) {
    if (s.active) TryPoke(s.second, &rows);
    // Knative rounds window values to 6 decimals; recording the rounded
    // value makes the file's text and the live input the same number.
    const double value = config_.metric == am::Metric::kRps
                             ? static_cast<double>(s.arrivals)
                             : std::round(s.concurrency * 1e6) / 1e6;
    autoscaler_.Record(value);
    if (stats_out_ != nullptr) {
      *stats_out_ << absl::StrFormat("%d,%.6f,%d\n", s.second, value,
                                     boundary_ready_)
                  << std::flush;
    }
    if (unwritten_poke_.has_value() && decisions_out_ != nullptr) {
      *decisions_out_ << am::FormatTickRow(*unwritten_poke_) << std::flush;
    }
    unwritten_poke_.reset();
    Boundary(s.second + 1, &rows);
  }
  const SecondStats::Second open = stats_->Open(now);
  if (open.active) TryPoke(open.second, &rows);
  return rows;
}

void LiveAutoscaler::Boundary(int64_t second, std::vector<am::TickRow>* rows) {
  boundary_ready_ = ready_pods_();
  if (second % tick_s_ == 0) {
    const am::TickRow row = autoscaler_.Tick(second, boundary_ready_);
    if (decisions_out_ != nullptr) {
      *decisions_out_ << am::FormatTickRow(row) << std::flush;
    }
    Emit(row, rows);
  }
}

void LiveAutoscaler::TryPoke(int64_t second, std::vector<am::TickRow>* rows) {
  if (!pokeable_) return;
  if (std::optional<am::TickRow> row =
          autoscaler_.Poke(second, boundary_ready_)) {
    unwritten_poke_ = *row;
    Emit(*row, rows);
  }
}

void LiveAutoscaler::Emit(const am::TickRow& row,
                          std::vector<am::TickRow>* rows) {
  pokeable_ = row.decider_pods == 0;
  rows->push_back(row);
}

}  // namespace knbench::local_serving
