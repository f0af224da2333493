// Pods with real resources: each pod gets its own cgroup with the limits the
// kubelet would set, under this process's own cgroup and nowhere else:
//
//   <own cgroup>/<prefix>-<pid>-<start ticks>/<pod name>
//
// in each hierarchy (v1: cpu, cpuacct, memory; v2: the unified one). The
// pid and its start time name the instance, so a later start can tell an
// instance that died by SIGKILL (pid gone, or reused by a process that
// started at another time) from a live one, and removes the dead one's
// EMPTY directories, nothing else. Where no cgroup can be used (or the
// caller turns them off), pods run unlimited and their usage comes from
// /proc/<pid>: the same calls work either way.
//
// Use (what local_serving's pod manager does):
//   auto cgroups = Manager::Create(options);      // once at start
//   if (!cgroups->warning().empty()) LogLine(cgroups->warning());
//   auto pod = cgroups->AddPod(name, resources);  // when a pod is created
//   CgroupJoin join = CgroupJoin::Open(pod->procs_files());  // before fork
//   ... fork; in the child: join.JoinSelf(), then exec ...
//   pod->Track(pid);                              // after each (re)start
//   pod->ReadUsage();                             // any time, any thread
//   pod->Remove();                                // once its process is reaped
//   cgroups->Close();                             // at exit (or destructor)
#ifndef KNBENCH_CGROUPS_MANAGER_H_
#define KNBENCH_CGROUPS_MANAGER_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "knbench/cgroups/layout.h"
#include "knbench/cgroups/resources.h"
#include "knbench/cgroups/usage.h"

namespace knbench::cgroups {

// mkdir(2) and rmdir(2) in a cgroup hierarchy, where the kernel fills a new
// directory with its interface files and refuses (EBUSY) to remove one that
// still holds a process. Each returns 0 or an errno. Tests substitute a fake
// kernel working on a plain directory tree.
struct DirOps {
  std::function<int(const std::string& path)> make;
  std::function<int(const std::string& path)> remove;
  static DirOps Kernel();
};

struct ManagerOptions {
  // false: no cgroups and no warning (turned off by a flag).
  bool enabled = true;
  // Names this process's directories (and those of its dead predecessors).
  std::string prefix = "knbench-local-serving";
  SystemFiles files;
  std::string proc_root = "/proc";  // liveness of instances, fallback usage
  DirOps dirs = DirOps::Kernel();
  // How long Remove waits for the kernel to empty a cgroup.
  absl::Duration empty_timeout = absl::Seconds(5);
};

struct Instance;  // shared by a manager and its pods

class PodCgroup {
 public:
  const std::string& name() const { return name_; }
  const Resources& resources() const { return resources_; }
  // The pod's cgroup path below its hierarchy's root (cAdvisor's `id`); the
  // pod's name in the fallback.
  const std::string& id() const { return id_; }
  // The cgroup.procs files a process writes itself into to join the pod
  // (CgroupJoin); empty in the fallback.
  const std::vector<std::string>& procs_files() const { return procs_files_; }

  // The pod's current process: the fallback reads its usage from /proc.
  void Track(pid_t pid) { pid_.store(pid); }
  pid_t tracked() const { return pid_.load(); }

  absl::StatusOr<Usage> ReadUsage() const;
  absl::StatusOr<Spec> ReadSpec() const;

  // Removes the pod's cgroup once the kernel has emptied it (its processes
  // must have exited), waiting at most the manager's empty_timeout.
  absl::Status Remove();

  PodCgroup(std::shared_ptr<Instance> instance, std::string name,
            Resources resources, ControllerDirs dirs, std::string id);

 private:
  const std::shared_ptr<Instance> instance_;
  const std::string name_;
  const Resources resources_;
  const ControllerDirs dirs_;
  const std::string id_;
  std::vector<std::string> procs_files_;
  std::atomic<pid_t> pid_{0};
};

class Manager {
 public:
  // Never fails: where cgroups cannot be used, version() is kNone and
  // warning() says why in one line. Removes the empty leftovers of dead
  // instances first.
  static std::unique_ptr<Manager> Create(ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  Version version() const;
  const std::string& warning() const { return warning_; }
  // Directories of dead instances removed at start.
  int leftovers_removed() const { return leftovers_removed_; }
  // The instance's own directories (empty in the fallback).
  std::vector<std::string> instance_dirs() const;

  // A cgroup for pod `name` (a single path element) holding the kubelet's
  // limits for `resources`. Fails if a file cannot be written; then nothing
  // of the pod is left behind.
  absl::StatusOr<std::shared_ptr<PodCgroup>> AddPod(const std::string& name,
                                                    const Resources& resources);

  // Removes every pod's cgroup that is still there, then the instance's
  // directories. Processes must have exited. Idempotent.
  absl::Status Close();

 private:
  Manager(std::shared_ptr<Instance> instance, std::string warning,
          int leftovers_removed);

  std::shared_ptr<Instance> instance_;
  std::string warning_;
  int leftovers_removed_ = 0;
};

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_MANAGER_H_
