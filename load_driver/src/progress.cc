#include "knbench/load_driver/progress.h"

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace knbench::load_driver {

void ProgressTracker::Consume(const Row& row) {
  // Uncontended: the progress thread takes this lock once per interval.
  std::lock_guard<std::mutex> lock(mu_);
  switch (row.status) {
    case RowStatus::kSuccess:
      ++ok_;
      interval_us_.Add(row.latency_us);
      break;
    case RowStatus::kFailure:
      ++failed_;
      break;
    case RowStatus::kDropped:
      ++dropped_;
      break;
  }
}

ProgressSnapshot ProgressTracker::TakeSnapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  ProgressSnapshot s;
  s.ok = ok_;
  s.failed = failed_;
  s.dropped = dropped_;
  s.sent = ok_ + failed_;
  s.interval_count = interval_us_.count();
  s.interval_p99_ms = interval_us_.Percentile(0.99) / 1000;
  interval_us_.Reset();
  return s;
}

std::string FormatProgress(const ProgressSnapshot& s, absl::Duration interval) {
  std::string p99 = s.interval_count == 0
                        ? std::string("-")
                        : absl::StrFormat("%.3f ms", s.interval_p99_ms);
  return absl::StrFormat(
      "elapsed %.1fs target %.1f rps sent %d ok %d failed %d dropped %d "
      "inflight %d p99 %s (last %s: %d ok)",
      absl::ToDoubleSeconds(s.elapsed), s.target_rps, s.sent, s.ok, s.failed,
      s.dropped, s.inflight, p99, absl::FormatDuration(interval),
      s.interval_count);
}

ProgressLoop::ProgressLoop(absl::Duration interval, std::function<void()> tick)
    : interval_(interval), tick_(std::move(tick)) {
  if (interval_ > absl::ZeroDuration()) {
    thread_ = std::thread([this] { Loop(); });
  }
}

void ProgressLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressLoop::Loop() {
  absl::Time next = absl::Now() + interval_;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cv_.wait_until(lock, absl::ToChronoTime(next),
                       [this] { return stop_; })) {
      return;
    }
    lock.unlock();
    tick_();
    lock.lock();
    next += interval_;
  }
}

}  // namespace knbench::load_driver
