#include "knbench/worker/spin.h"

#include <time.h>

#include "absl/strings/str_cat.h"

namespace knbench::worker {
namespace {

std::chrono::nanoseconds ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

absl::StatusOr<SpinClock> ParseSpinClock(absl::string_view text) {
  if (text == "wall") return SpinClock::kWall;
  if (text == "cpu") return SpinClock::kCpu;
  return absl::InvalidArgumentError(
      absl::StrCat("--spin-clock: '", text, "' is not one of wall, cpu"));
}

std::string SpinClockName(SpinClock clock) {
  return clock == SpinClock::kWall ? "wall" : "cpu";
}

SpinResult Spin(std::chrono::nanoseconds duration, SpinClock clock,
                const std::atomic<bool>& cancelled,
                std::chrono::steady_clock::time_point deadline) {
  using std::chrono::steady_clock;
  SpinResult result;
  const auto wall_start = steady_clock::now();
  const auto cpu_start =
      clock == SpinClock::kCpu ? ThreadCpuTime() : std::chrono::nanoseconds(0);
  while (true) {
    const auto wall_now = steady_clock::now();
    result.spun = clock == SpinClock::kWall ? wall_now - wall_start
                                            : ThreadCpuTime() - cpu_start;
    if (result.spun >= duration) return result;
    if (cancelled.load(std::memory_order_relaxed) || wall_now >= deadline) {
      result.interrupted = true;
      return result;
    }
  }
}

}  // namespace knbench::worker
