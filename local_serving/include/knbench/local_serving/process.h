// Starting and stopping the worker processes that stand for pods.
#ifndef KNBENCH_LOCAL_SERVING_PROCESS_H_
#define KNBENCH_LOCAL_SERVING_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "knbench/local_serving/exit_watch.h"
#include "knbench/local_serving/pod_watchdog.h"

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

// Starts `spec` as the leader of a process group of its own (a terminal's
// Ctrl-C reaches only us, and we stop the pods in order) with no signal
// blocked. The child gets SIGKILL when the calling thread ends, so pods
// never outlive local_serving even if it is killed with SIGKILL (a pod's
// other processes: PodWatchdog): call this from a thread that lives as
// long as the pods. Fails if the log or a cgroup.procs file cannot be
// opened or fork fails; a child that cannot join its cgroup or exec exits
// 127 with the reason in the log.
absl::StatusOr<pid_t> SpawnProcess(const ProcessSpec& spec);

// "exit 1", "signal 9 (Killed)".
std::string DescribeExit(int wait_status);

// The pods' processes as PodManager sees them: started, watched for their
// exit, signalled. Injected so that tests fake them at this boundary.
class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // As SpawnProcess: called from the thread the pods must not outlive.
  virtual absl::StatusOr<pid_t> Spawn(const ProcessSpec& spec) = 0;
  // The exit status (as waitpid reports it) once `pid` has exited.
  virtual std::optional<int> Reap(pid_t pid) = 0;
  virtual void Signal(pid_t pid, int signal) = 0;
  // Called from any thread when a process may be ready to Reap, so that
  // the caller need not poll; null: nobody. When this returns, no call of
  // the previous listener is running.
  virtual void SetExitListener(std::function<void()> /*listener*/) {}
  // Whether the listener will be called when Reap(pid) may report its
  // exit; if not, the caller polls Reap.
  virtual bool TellsExit(pid_t /*pid*/) { return false; }
};

// Real processes, a pod being a process group (SpawnProcess), so that a
// worker a script started without exec is part of it: signals go to the
// group, and Reap reports the leader's exit once every process of the
// group has exited. local_serving becomes a child subreaper, so processes
// of a group whose parent exits become its children, to be reaped here.
// A leader that exits on its own takes the rest of its group with it
// (SIGKILL), as a container's processes end with its main one; a group
// that got SIGTERM drains until it gets SIGKILL. The groups are listed
// with a PodWatchdog while they run.
class RealProcesses : public ProcessLauncher {
 public:
  RealProcesses();
  ~RealProcesses() override;
  absl::StatusOr<pid_t> Spawn(const ProcessSpec& spec) override;
  std::optional<int> Reap(pid_t pid) override;
  void Signal(pid_t pid, int signal) override;
  void SetExitListener(std::function<void()> listener) override;
  // Until the leader exits; the rest of its group is then polled for.
  bool TellsExit(pid_t pid) override;

 private:
  struct Group {
    std::optional<int> leader_exit;  // its wait status, once reaped
    bool terminating = false;        // got SIGTERM
  };

  absl::Mutex mu_;
  std::map<pid_t, Group> groups_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<PodWatchdog> watchdog_;  // null: it could not start
  ExitWatch exits_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_PROCESS_H_
