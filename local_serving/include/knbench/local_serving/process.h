// Starting and stopping the worker processes that stand for pods.
#ifndef KNBENCH_LOCAL_SERVING_PROCESS_H_
#define KNBENCH_LOCAL_SERVING_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace knbench::local_serving {

struct ProcessSpec {
  std::string path;
  std::vector<std::string> args;           // argv[1..]
  std::map<std::string, std::string> env;  // set over this process's env
  std::string log_path;                    // stdout and stderr, appended
  // The pod's cgroup.procs files (knbench::cgroups): the child writes itself
  // into each before exec, so the worker runs within the pod's limits from
  // its first instruction. Empty: it stays in ours.
  std::vector<std::string> cgroup_procs;
};

// Starts `spec` in its own process group (a terminal's Ctrl-C reaches only
// us, and we stop the pods in order) with no signal blocked. The child gets
// SIGKILL when the calling thread ends, so pods never outlive local_serving
// even if it is killed with SIGKILL: call this from a thread that lives as
// long as the pods. Fails if the log or a cgroup.procs file cannot be
// opened or fork fails; a child that cannot join its cgroup or exec exits
// 127 with the reason in the log.
absl::StatusOr<pid_t> SpawnProcess(const ProcessSpec& spec);

// The exit status (as waitpid reports it) if `pid` has exited; reaps it.
std::optional<int> Reap(pid_t pid);

// "exit 1", "signal 9 (Killed)".
std::string DescribeExit(int wait_status);

// The pods' processes as PodManager sees them: started, watched for their
// exit, signalled. Injected so that tests fake them at this boundary.
class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // As SpawnProcess: called from the thread the pods must not outlive.
  virtual absl::StatusOr<pid_t> Spawn(const ProcessSpec& spec) = 0;
  // As Reap: the exit status once `pid` has exited.
  virtual std::optional<int> Reap(pid_t pid) = 0;
  virtual void Signal(pid_t pid, int signal) = 0;
};

// Real processes: SpawnProcess, Reap and kill(2).
class RealProcesses : public ProcessLauncher {
 public:
  absl::StatusOr<pid_t> Spawn(const ProcessSpec& spec) override {
    return SpawnProcess(spec);
  }
  std::optional<int> Reap(pid_t pid) override {
    return local_serving::Reap(pid);
  }
  void Signal(pid_t pid, int signal) override;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_PROCESS_H_
