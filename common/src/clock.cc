#include "knbench/common/clock.h"

#include <sys/prctl.h>

#include <cerrno>
#include <chrono>
#include <ctime>

namespace knbench {

void RealClock::SleepUntil(absl::Time t) {
  const timespec ts = absl::ToTimespec(t);
  // CLOCK_REALTIME matches absl::Now(); EINTR just retries the same deadline.
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

absl::Time SteadyClock::Now() {
  return absl::FromUnixNanos(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

void SteadyClock::SleepUntil(absl::Time t) {
  // steady_clock is CLOCK_MONOTONIC on Linux: the same absolute sleep.
  const timespec ts = absl::ToTimespec(t);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

void UsePreciseTimerSlack() { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

}  // namespace knbench
