#include "knbench/local_serving/restart_policy.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

namespace knbench::local_serving {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Seconds(10);
constexpr absl::Duration kMaxBackoff = absl::Minutes(5);
constexpr absl::Duration kBackoffReset = absl::Minutes(10);

}  // namespace

const char* TerminationReason(int wait_status, bool oom_killed) {
  if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL &&
      oom_killed) {
    return "OOMKilled";
  }
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0 ? "Completed"
                                                                 : "Error";
}

absl::Duration RestartBackoff::Died(absl::Time started, absl::Time now) {
  if (now - started >= kBackoffReset) next_ = absl::ZeroDuration();
  const absl::Duration delay = next_;
  next_ = next_ == absl::ZeroDuration() ? kFirstBackoff
                                        : std::min(next_ * 2, kMaxBackoff);
  return delay;
}

}  // namespace knbench::local_serving
