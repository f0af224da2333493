#ifndef KNBENCH_LOAD_DRIVER_PROGRESS_H_
#define KNBENCH_LOAD_DRIVER_PROGRESS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "knbench/load_driver/histogram.h"
#include "knbench/load_driver/recorder.h"

namespace knbench::load_driver {

struct ProgressSnapshot {
  absl::Duration elapsed;
  double target_rps = 0;
  int64_t sent = 0;  // rows recorded as success or failure so far
  int64_t ok = 0;
  int64_t failed = 0;
  int64_t dropped = 0;
  int64_t inflight = 0;
  int64_t interval_count = 0;  // successes since the previous snapshot
  double interval_p99_ms = 0;
};

// Counts rows as they are recorded (writer thread) and hands out a snapshot
// per progress interval (progress thread); the interval histogram restarts
// with each snapshot.
class ProgressTracker : public RowConsumer {
 public:
  void Consume(const Row& row) override;
  // Fills the row-derived fields and restarts the interval.
  ProgressSnapshot TakeSnapshot();

 private:
  std::mutex mu_;
  int64_t ok_ = 0, failed_ = 0, dropped_ = 0;
  LogLinearHistogram interval_us_;
};

// "elapsed 10.0s target 1000.0 rps sent 10000 ok 9990 failed 10 dropped 0
//  inflight 12 p99 3.412 ms (last 5s: 4990 ok)"
std::string FormatProgress(const ProgressSnapshot& s, absl::Duration interval);

// Calls `tick` every interval (none with 0) on a thread of its own until
// stopped: the progress line.
class ProgressLoop {
 public:
  ProgressLoop(absl::Duration interval, std::function<void()> tick);
  ~ProgressLoop() { Stop(); }
  ProgressLoop(const ProgressLoop&) = delete;
  ProgressLoop& operator=(const ProgressLoop&) = delete;
  void Stop();

 private:
  void Loop();

  const absl::Duration interval_;
  const std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_PROGRESS_H_
