#include "knbench/load_driver/pacer.h"

#include <algorithm>

namespace knbench::load_driver {

Pacer::Pacer(Clock* clock, ArrivalGenerator* arrivals, Sender* sender,
             RowSink* sink, PacerObserver* observer, PacerOptions options)
    : clock_(clock),
      arrivals_(arrivals),
      sender_(sender),
      sink_(sink),
      observer_(observer),
      options_(options) {}

PacerResult Pacer::Run(absl::Time start, const std::function<bool()>& stop) {
  PacerResult result;
  Arrival a;
  absl::Time last_wake = absl::InfinitePast();
  for (;;) {
    if (stop()) {
      result.stopped = true;
      break;
    }
    if (!arrivals_->Next(&a)) break;
    const absl::Time due = start + a.offset;
    absl::Time now = clock_->Now();
    // Not before `due`, and not sooner than a quantum after the last wake.
    const absl::Time wake_at =
        now < due ? std::max(due, last_wake + options_.quantum) : due;
    bool stopped = false;
    bool slept = false;
    while (now < wake_at) {
      clock_->SleepUntil(std::min(wake_at, now + options_.max_sleep));
      slept = true;
      now = clock_->Now();
      if (now < wake_at && stop()) {
        // A request that is due is still sent; one that is not, never is.
        stopped = now < due;
        break;
      }
    }
    if (slept) last_wake = now;
    // A request whose time has not come when we stop was never scheduled.
    if (stopped) {
      result.stopped = true;
      break;
    }
    current_rps_.store(a.rps, std::memory_order_relaxed);
    ++result.scheduled;
    const absl::Duration lag = now - due;
    if (sender_->inflight() >= options_.max_inflight) {
      Row row;
      row.seq = a.seq;
      row.intended_unix_ns = absl::ToUnixNanos(due);
      row.rps = a.rps;
      row.spin_ms = options_.spin_ms;
      row.status = RowStatus::kDropped;
      row.lag_us = absl::ToInt64Microseconds(lag);
      row.phase = a.phase;
      row.warmup = a.warmup;
      if (observer_) observer_->OnScheduled(a, lag, /*dropped=*/true);
      sink_->Record(std::move(row));
      ++result.dropped;
      continue;
    }
    if (observer_) observer_->OnScheduled(a, lag, /*dropped=*/false);
    sender_->Send(a, due, now);
    ++result.sent;
  }
  result.end = clock_->Now();
  return result;
}

}  // namespace knbench::load_driver
