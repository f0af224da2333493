#include "knbench/local_serving/second_stats.h"

namespace knbench::local_serving {

void SecondStats::AdvanceTo(absl::Time now) {
  if (now < last_) now = last_;
  // Close every second that ended before `now`.
  while (now >= open_start_ + absl::Seconds(1)) {
    const absl::Time end = open_start_ + absl::Seconds(1);
    area_ +=
        static_cast<double>(in_system_) * absl::ToDoubleSeconds(end - last_);
    ended_.push_back(Second{open_second_, area_, arrivals_, active_});
    ++open_second_;
    open_start_ = end;
    last_ = end;
    area_ = 0;
    arrivals_ = 0;
    active_ = in_system_ > 0;
  }
  area_ += static_cast<double>(in_system_) * absl::ToDoubleSeconds(now - last_);
  last_ = now;
}

void SecondStats::Arrive(absl::Time now) {
  absl::MutexLock lock(&mu_);
  AdvanceTo(now);
  ++in_system_;
  ++arrivals_;
  active_ = true;
}

void SecondStats::Depart(absl::Time now) {
  absl::MutexLock lock(&mu_);
  AdvanceTo(now);
  if (in_system_ > 0) --in_system_;
}

std::vector<SecondStats::Second> SecondStats::TakeEnded(absl::Time now) {
  absl::MutexLock lock(&mu_);
  AdvanceTo(now);
  std::vector<Second> out;
  out.swap(ended_);
  return out;
}

SecondStats::Second SecondStats::Open(absl::Time now) {
  absl::MutexLock lock(&mu_);
  AdvanceTo(now);
  return Second{open_second_, area_, arrivals_, active_};
}

int64_t SecondStats::in_system() const {
  absl::MutexLock lock(&mu_);
  return in_system_;
}

}  // namespace knbench::local_serving
