#ifndef KNBENCH_COMMON_CLOCK_H_
#define KNBENCH_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace knbench {

// The time source of whatever keeps time (the driver's pacer, local
// serving's pods and router). Injected, so that tests advance a fake clock
// (knbench/testing/fake_clock.h) instead of sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Returns at or after `t` (at once if `t` is past).
  virtual void SleepUntil(absl::Time t) = 0;
  // With `mu` held: waits until `cond` holds or this clock reaches
  // `deadline` (never, for absl::InfiniteFuture()), and says whether `cond`
  // holds. `cond` is re-evaluated whenever `mu` is released, as absl's
  // Await does.
  virtual bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                                 absl::Time deadline) = 0;
};

// Wall time (absl::Now): for times that are written down as dates, such as
// the driver's intended send times. SleepUntil uses an absolute-time sleep,
// so that wake-ups do not drift.
class RealClock : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  void SleepUntil(absl::Time t) override;
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                         absl::Time deadline) override {
    return mu.AwaitWithDeadline(cond, deadline);
  }
};

// A monotonic clock as absl::Time: it never jumps, and only differences
// between its readings mean anything. For timers and rates.
class SteadyClock : public Clock {
 public:
  absl::Time Now() override;
  void SleepUntil(absl::Time t) override;
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                         absl::Time deadline) override {
    return mu.AwaitWithTimeout(cond, deadline - Now());
  }
};

// Reduces the calling thread's timer slack to 1 ns so that sleeps wake close
// to their deadline (the Linux default of 50 us matters at 20 000 RPS).
void UsePreciseTimerSlack();

}  // namespace knbench

#endif  // KNBENCH_COMMON_CLOCK_H_
