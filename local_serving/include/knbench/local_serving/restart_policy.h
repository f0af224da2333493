// The kubelet's restart policy (Always) for one pod's container: why it
// ended, and how long it waits before the next start. Kubernetes restarts
// a crashed container at once, then after 10 s, 20 s, ... up to 5 min, and
// forgets the crashes after 10 min of running.
#ifndef KNBENCH_LOCAL_SERVING_RESTART_POLICY_H_
#define KNBENCH_LOCAL_SERVING_RESTART_POLICY_H_

#include "absl/time/time.h"

namespace knbench::local_serving {

// The kubelet's reason for a container that ended on its own, from its
// wait status: "OOMKilled" (a SIGKILL while its cgroup's OOM kills went
// up: the kernel counts it before the process can be reaped), "Completed"
// (exit 0) or "Error".
const char* TerminationReason(int wait_status, bool oom_killed);

class RestartBackoff {
 public:
  // The container that started at `started` died at `now`: the delay
  // before its next start.
  absl::Duration Died(absl::Time started, absl::Time now);

 private:
  absl::Duration next_ = absl::ZeroDuration();
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_RESTART_POLICY_H_
