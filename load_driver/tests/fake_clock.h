#ifndef KNBENCH_LOAD_DRIVER_TESTS_FAKE_CLOCK_H_
#define KNBENCH_LOAD_DRIVER_TESTS_FAKE_CLOCK_H_

#include <mutex>

#include "knbench/load_driver/clock.h"

namespace knbench::load_driver {

// Time moves only when told: SleepUntil jumps ahead instead of sleeping.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  absl::Time Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void SleepUntil(absl::Time t) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++sleeps_;
    if (t > now_) now_ = t;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  int sleeps() {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  std::mutex mu_;
  absl::Time now_;
  int sleeps_ = 0;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TESTS_FAKE_CLOCK_H_
