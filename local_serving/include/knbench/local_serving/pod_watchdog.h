// Pods do not outlive local_serving, however it ends. The kernel's
// PDEATHSIG reaches only a pod's first process, not a worker that a script
// started without exec; so a small process of ours, forked at start, holds
// the list of the pods' process groups (sent over a socket) and SIGKILLs
// every group still listed once the socket's other end closes, which the
// kernel does when local_serving exits, even by SIGKILL (once every copy
// of it has closed: its socket is close-on-exec, and pods close every
// descriptor before exec).
//
// Not covered: a process that leaves its pod's group (setsid, setpgid),
// and a SIGKILL of the watchdog itself (it ignores the terminal's and
// kill's usual signals, and runs in a group of its own).
#ifndef KNBENCH_LOCAL_SERVING_POD_WATCHDOG_H_
#define KNBENCH_LOCAL_SERVING_POD_WATCHDOG_H_

#include <sys/types.h>

#include <memory>

#include "absl/status/statusor.h"

namespace knbench::local_serving {

class PodWatchdog {
 public:
  // Forks the watchdog (it runs only async-signal-safe code, so any thread
  // may call this).
  static absl::StatusOr<std::unique_ptr<PodWatchdog>> Start();
  // Closes the socket: the watchdog kills the groups still listed (none
  // after an orderly stop) and exits; reaps it.
  ~PodWatchdog();
  PodWatchdog(const PodWatchdog&) = delete;
  PodWatchdog& operator=(const PodWatchdog&) = delete;

  // Lists, then unlists, a pod's process group.
  void Watch(pid_t pgid);
  void Forget(pid_t pgid);
  pid_t pid() const { return pid_; }

 private:
  PodWatchdog(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  void Send(int32_t message);

  const pid_t pid_;
  const int fd_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_POD_WATCHDOG_H_
