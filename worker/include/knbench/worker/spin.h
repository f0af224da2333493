#ifndef KNBENCH_WORKER_SPIN_H_
#define KNBENCH_WORKER_SPIN_H_

#include <atomic>
#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace knbench::worker {

// What a request's duration measures.
enum class SpinClock {
  // Wall time, as the original: concurrent spins share the CPU and each
  // still ends after about its duration.
  kWall,
  // The spinning thread's CPU time: a fixed amount of CPU work, so latency
  // grows under contention, as for a real CPU-bound function.
  kCpu,
};

absl::StatusOr<SpinClock> ParseSpinClock(absl::string_view text);
std::string SpinClockName(SpinClock clock);

struct SpinResult {
  // Spin performed, measured on the requested clock.
  std::chrono::nanoseconds spun{0};
  // True when the spin stopped early (cancel flag or wall deadline).
  bool interrupted = false;
};

// Busy-spins on the calling thread for `duration` of `clock`, stopping early
// once `cancelled` is set or the wall clock passes `deadline`.
SpinResult Spin(std::chrono::nanoseconds duration, SpinClock clock,
                const std::atomic<bool>& cancelled,
                std::chrono::steady_clock::time_point deadline =
                    std::chrono::steady_clock::time_point::max());

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_SPIN_H_
