#include "child.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "knbench/cgroups/join.h"
#include "knbench/common/proc_stat.h"

namespace knbench::cgroups::testing {
namespace {

pid_t Fork(const PodCgroup& pod, const std::function<void()>& body) {
  absl::StatusOr<CgroupJoin> join = CgroupJoin::Open(pod.procs_files());
  if (!join.ok()) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    if (join->JoinSelf() != 0) _exit(126);
    body();
    _exit(0);
  }
  return pid;
}

}  // namespace

pid_t ForkInPod(const PodCgroup& pod, const std::function<void()>& body) {
  return Fork(pod, body);
}

pid_t ExecInPod(const PodCgroup& pod, const std::vector<std::string>& argv) {
  // Built before fork: the child only execs.
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (std::string& a : args) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  return Fork(pod, [&] {
    execv(pointers[0], pointers.data());
    _exit(127);
  });
}

pid_t SpinInPod(const PodCgroup& pod) {
  return ExecInPod(pod, {"/bin/sh", "-c", "while :; do :; done"});
}

std::optional<int> WaitExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  (void)WaitExit(pid, absl::Seconds(30));
}

uint64_t StartTicks(pid_t pid) {
  return ReadProcStat(absl::StrCat("/proc/", pid))
      .value_or(ProcStat{})
      .start_ticks;
}

}  // namespace knbench::cgroups::testing
