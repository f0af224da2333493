#ifndef KNBENCH_TESTING_FAKE_CLOCK_H_
#define KNBENCH_TESTING_FAKE_CLOCK_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "knbench/common/clock.h"

namespace knbench::testing {

// Time moves only when told: Advance, or SleepUntil, which jumps ahead
// instead of sleeping. A thread waiting in AwaitWithDeadline wakes when its
// condition holds or when Advance reaches its deadline, so code under test
// keeps its own threads and timers and the test decides when time passes.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}

  absl::Time Now() override;
  void SleepUntil(absl::Time t) override;
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                         absl::Time deadline) override;

  // Moves time on and lets every waiter look at it. Must not race with
  // the destruction of an object whose thread waits here.
  void Advance(absl::Duration d);
  int sleeps();

  // Makes every waiter look again, then waits, in real time up to
  // `timeout`, until `n` threads wait in AwaitWithDeadline having looked
  // since and found nothing to do: what a test calls after Advance or after
  // poking the code under test, before it checks that something did (or did
  // not) happen.
  bool Settle(int n, absl::Duration timeout = absl::Seconds(10));
  // The earliest deadline a thread waits for (InfiniteFuture if none): when
  // the code under test would wake by itself.
  absl::Time NextDeadline();

 private:
  struct Waiter {
    FakeClock* clock;
    const absl::Condition* cond;
    absl::Time deadline;
    absl::Mutex* mu;
    uint64_t seen = 0;  // the epoch it last looked at
    bool woken = false;
  };
  static bool Look(Waiter* w);
  // To `t` (or stays, if `t` is not later) in a new epoch: every waiter
  // looks again.
  void MoveTo(absl::Time t, bool count_sleep);

  std::mutex mu_;  // after a waiter's mutex, never before it
  std::condition_variable looked_;
  absl::Time now_;
  uint64_t epoch_ = 1;  // changes with every move of time and every Settle
  int sleeps_ = 0;
  std::set<Waiter*> waiters_;
};

}  // namespace knbench::testing

#endif  // KNBENCH_TESTING_FAKE_CLOCK_H_
