#ifndef KNBENCH_COMMON_SHUTDOWN_H_
#define KNBENCH_COMMON_SHUTDOWN_H_

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace knbench {

// Turns SIGTERM and SIGINT into an event the program waits on.
//
// Construct it first thing in main, before any thread starts: it blocks both
// signals so every later thread inherits the mask, and one thread receives
// them with sigwait.
//
// Until EnableGracefulStop() a signal exits at once with 128 + signal: during
// start-up (parsing flags, reading a schedule, binding ports) there is
// nothing to drain, and nothing would look at the event. Afterwards it
// becomes the event. A second signal at least a second after the first
// exits at once, for a user whose graceful stop takes too long; signals
// closer together (a terminal's Ctrl-C reaching the process group and a
// supervisor's SIGTERM right after) count as one.
class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // True once a signal arrived or Request() was called.
  bool requested() const { return notified_.HasBeenNotified(); }
  // Blocks until requested.
  void Wait() const { notified_.WaitForNotification(); }
  // Blocks until requested or `timeout` passed; true if requested.
  bool WaitFor(absl::Duration timeout) const {
    return notified_.WaitForNotificationWithTimeout(timeout);
  }
  // The signal that triggered shutdown, or 0 for Request().
  int signal_number() const { return signal_.load(); }
  // Signals received so far (any kind, counting those ignored).
  int signals_received() const { return received_.load(); }
  // Triggers shutdown from the program itself (end of run, tests).
  void Request();
  // From now on a signal requests a graceful stop instead of exiting. Call
  // it once the program waits on the event (or polls requested()).
  void EnableGracefulStop() { graceful_.store(true); }

 private:
  void Loop();

  absl::Notification notified_;
  std::atomic<int> signal_{0};
  std::atomic<int> received_{0};
  std::atomic<bool> stop_thread_{false};
  std::atomic<bool> graceful_{false};
  absl::Time first_signal_time_;  // Used by the signal thread only.
  std::thread thread_;
};

}  // namespace knbench

#endif  // KNBENCH_COMMON_SHUTDOWN_H_
