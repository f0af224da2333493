#include "knbench/load_driver/clock.h"

#include <sys/prctl.h>

#include <cerrno>
#include <ctime>

namespace knbench::load_driver {

void RealClock::SleepUntil(absl::Time t) {
  const timespec ts = absl::ToTimespec(t);
  // CLOCK_REALTIME matches absl::Now(); EINTR just retries the same deadline.
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

void UsePreciseTimerSlack() { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

}  // namespace knbench::load_driver
