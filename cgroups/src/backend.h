// What differs between cgroup v1, cgroup v2 and no cgroups at all: which
// files hold a pod's limits and usage (internal). The manager and the pods
// only talk to this interface, so callers never branch on the version.
#ifndef KNBENCH_CGROUPS_SRC_BACKEND_H_
#define KNBENCH_CGROUPS_SRC_BACKEND_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "knbench/cgroups/layout.h"
#include "knbench/cgroups/manager.h"
#include "knbench/cgroups/resources.h"
#include "knbench/cgroups/usage.h"

namespace knbench::cgroups {

class Backend {
 public:
  virtual ~Backend() = default;
  // After the instance's directories were made under `own`: whatever the
  // version needs before pods can be made inside them (v1: nothing, a new
  // directory has every controller).
  virtual absl::Status PrepareInstance(const ControllerDirs& /*own*/,
                                       const ControllerDirs& /*instance*/,
                                       const DirOps& /*dirs*/) {
    return absl::OkStatus();
  }
  // Before the instance's directories are removed: undo PrepareInstance.
  virtual absl::Status ReleaseInstance(const ControllerDirs& /*own*/,
                                       const ControllerDirs& /*instance*/,
                                       const DirOps& /*dirs*/) {
    return absl::OkStatus();
  }
  virtual absl::Status Apply(const ControllerDirs& pod,
                             const CgroupConfig& config) const = 0;
  // `pid` is the pod's current process (0: none); only /proc reads it.
  virtual absl::StatusOr<Usage> ReadUsage(const ControllerDirs& pod,
                                          pid_t pid) const = 0;
  virtual absl::StatusOr<Spec> ReadSpec(const ControllerDirs& pod) const = 0;
};

std::unique_ptr<Backend> MakeV1Backend();
std::unique_ptr<Backend> MakeV2Backend();
// No cgroups: nothing is enforced, usage comes from /proc/<pid>.
std::unique_ptr<Backend> MakeProcBackend(const std::string& proc_root);

// rmdir, retried while the kernel still holds a process in the cgroup
// (EBUSY), for at most `timeout`. A directory already gone is fine.
absl::Status RemoveWhenEmpty(const std::string& dir, const DirOps& dirs,
                             absl::Duration timeout);

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_SRC_BACKEND_H_
