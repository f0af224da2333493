// Child processes for the tests: forked into a pod's cgroup the way
// local_serving starts a pod (CgroupJoin between fork and exec).
#ifndef KNBENCH_CGROUPS_TESTS_CHILD_H_
#define KNBENCH_CGROUPS_TESTS_CHILD_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/cgroups/manager.h"

namespace knbench::cgroups::testing {

// Forks; the child joins `pod` (exit 126 if it cannot), then runs `body`
// and exits 0. Only async-signal-safe work in `body`.
pid_t ForkInPod(const PodCgroup& pod, const std::function<void()>& body);

// Forks; the child joins `pod`, then execs `argv` (exit 127 if it cannot).
pid_t ExecInPod(const PodCgroup& pod, const std::vector<std::string>& argv);

// A child that spins on the CPU until killed (exec of /bin/sh).
pid_t SpinInPod(const PodCgroup& pod);

// The child's wait status once it exits, or nothing after `timeout`.
std::optional<int> WaitExit(pid_t pid, absl::Duration timeout);

// SIGKILL and reap.
void KillAndReap(pid_t pid);

// /proc/<pid>/stat's start time (ticks after boot).
uint64_t StartTicks(pid_t pid);

}  // namespace knbench::cgroups::testing

#endif  // KNBENCH_CGROUPS_TESTS_CHILD_H_
