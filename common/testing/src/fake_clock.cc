#include "knbench/testing/fake_clock.h"

#include <algorithm>
#include <vector>

namespace knbench::testing {

absl::Time FakeClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

int FakeClock::sleeps() {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

void FakeClock::SleepUntil(absl::Time t) { MoveTo(t, /*count_sleep=*/true); }

void FakeClock::Advance(absl::Duration d) { MoveTo(Now() + d, false); }

void FakeClock::MoveTo(absl::Time t, bool count_sleep) {
  std::vector<absl::Mutex*> mutexes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_sleep) ++sleeps_;
    if (t < now_) return;
    now_ = t;
    ++epoch_;
    for (Waiter* w : waiters_) mutexes.push_back(w->mu);
  }
  // absl evaluates a waiter's condition again when its mutex is released.
  for (absl::Mutex* m : mutexes) {
    m->Lock();
    m->Unlock();
  }
}

bool FakeClock::Look(Waiter* w) {
  FakeClock* clock = w->clock;
  std::lock_guard<std::mutex> lock(clock->mu_);
  w->woken = w->cond->Eval() || clock->now_ >= w->deadline;
  w->seen = clock->epoch_;
  clock->looked_.notify_all();
  return w->woken;
}

bool FakeClock::AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                                  absl::Time deadline) {
  Waiter w{this, &cond, deadline, &mu};
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiters_.insert(&w);
  }
  mu.Await(absl::Condition(&FakeClock::Look, &w));
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiters_.erase(&w);
  }
  return cond.Eval();
}

bool FakeClock::Settle(int n, absl::Duration timeout) {
  MoveTo(Now(), /*count_sleep=*/false);
  std::unique_lock<std::mutex> lock(mu_);
  return looked_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    int idle = 0;
    for (const Waiter* w : waiters_) idle += w->seen == epoch_ && !w->woken;
    return idle >= n;
  });
}

absl::Time FakeClock::NextDeadline() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const Waiter* w : waiters_) next = std::min(next, w->deadline);
  return next;
}

}  // namespace knbench::testing
