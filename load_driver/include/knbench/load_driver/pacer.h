#ifndef KNBENCH_LOAD_DRIVER_PACER_H_
#define KNBENCH_LOAD_DRIVER_PACER_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "knbench/common/clock.h"
#include "knbench/load_driver/row.h"
#include "knbench/load_driver/schedule.h"

namespace knbench::load_driver {

// Starts requests; never blocks on their answers.
class Sender {
 public:
  virtual ~Sender() = default;
  // Requests sent and not yet answered.
  virtual int64_t inflight() const = 0;
  // Sends asynchronously; exactly one row must eventually reach the sink.
  virtual void Send(const Arrival& a, absl::Time intended,
                    absl::Time actual) = 0;
};

// Optional per-request observations (metrics); called on the pacing thread.
class PacerObserver {
 public:
  virtual ~PacerObserver() = default;
  virtual void OnScheduled(const Arrival& a, absl::Duration lag,
                           bool dropped) = 0;
};

struct PacerOptions {
  int64_t max_inflight = 10000;
  int32_t spin_ms = 0;  // copied into dropped rows
  // Longest single sleep, so a stop request is noticed promptly.
  absl::Duration max_sleep = absl::Milliseconds(50);
  // Wake at most once per quantum and send every request due by then: a
  // request leaves up to a quantum late (its lag says by how much), and at
  // high rates the driver pays one wake-up for several requests. 0: wake
  // for every request at its time.
  absl::Duration quantum;
};

struct PacerResult {
  int64_t scheduled = 0;
  int64_t sent = 0;
  int64_t dropped = 0;
  bool stopped = false;  // ended by `stop` rather than by the schedule
  absl::Time end;        // when scheduling ended
};

// The one pacing thread: releases each arrival at start + offset (or, with
// a quantum, at the next wake-up a quantum after the last). When late
// it sends at once and the lag is recorded; nothing is skipped. When
// `max_inflight` requests are in flight a due request is recorded as dropped
// instead of sent.
class Pacer {
 public:
  Pacer(Clock* clock, ArrivalGenerator* arrivals, Sender* sender, RowSink* sink,
        PacerObserver* observer, PacerOptions options);

  // Runs until the schedule ends or `stop()` is true. `stop` is polled before
  // each request and while sleeping.
  PacerResult Run(absl::Time start, const std::function<bool()>& stop);

  // Target rate of the latest arrival (for progress lines), any thread.
  double current_rps() const {
    return current_rps_.load(std::memory_order_relaxed);
  }

 private:
  Clock* clock_;
  ArrivalGenerator* arrivals_;
  Sender* sender_;
  RowSink* sink_;
  PacerObserver* observer_;
  PacerOptions options_;
  std::atomic<double> current_rps_{0};
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_PACER_H_
