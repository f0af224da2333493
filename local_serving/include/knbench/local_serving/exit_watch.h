// Tells when a started process exits, without polling: one thread blocks
// in poll(2) on a pidfd per process.
#ifndef KNBENCH_LOCAL_SERVING_EXIT_WATCH_H_
#define KNBENCH_LOCAL_SERVING_EXIT_WATCH_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace knbench::local_serving {

class ExitWatch {
 public:
  ExitWatch();
  ~ExitWatch();
  ExitWatch(const ExitWatch&) = delete;
  ExitWatch& operator=(const ExitWatch&) = delete;

  // Watches `pid` (a child not yet reaped) until it exits, then forgets
  // it. False if it cannot (no pidfds here): the caller polls instead.
  bool Add(pid_t pid);
  // Whether `pid`'s exit is still to be told.
  bool Watching(pid_t pid);
  // Called on the watch's thread after each exit; null: nobody. When this
  // returns, no call of the previous listener is running.
  void SetListener(std::function<void()> listener);

 private:
  void Run();

  absl::Mutex mu_;
  std::map<pid_t, int> pidfds_ ABSL_GUARDED_BY(mu_);
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  // Its own lock: a listener may take a lock under which Add is called.
  absl::Mutex listener_mu_;
  std::function<void()> listener_ ABSL_GUARDED_BY(listener_mu_);
  int wake_fd_ = -1;  // an eventfd: the set changed, or quit
  std::thread thread_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_EXIT_WATCH_H_
