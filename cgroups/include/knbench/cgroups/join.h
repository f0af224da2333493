// Putting a process that is about to exec into a pod's cgroup, race-free.
//
// The parent opens the pod's cgroup.procs files before fork (an error shows
// there, in the parent); the child, between fork and exec, writes "0"
// (itself) to each, then execs. So the new program is inside the pod's
// limits and counted from its first instruction, with no window in which it
// runs outside and no hand-shake with the parent (the alternative, the
// parent moving the child, needs the child held on a pipe until moved). The
// descriptors are close-on-exec: the program never sees them.
#ifndef KNBENCH_CGROUPS_JOIN_H_
#define KNBENCH_CGROUPS_JOIN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace knbench::cgroups {

class CgroupJoin {
 public:
  // No files (the fallback): JoinSelf does nothing.
  static absl::StatusOr<CgroupJoin> Open(
      const std::vector<std::string>& procs_files);

  CgroupJoin(CgroupJoin&& other) noexcept;
  CgroupJoin& operator=(CgroupJoin&& other) noexcept;
  ~CgroupJoin();

  // In the child, between fork and exec (before any close_range): only
  // async-signal-safe calls. Returns 0, or the errno of the first write that
  // failed (the caller reports it and exits).
  int JoinSelf() const noexcept;

 private:
  CgroupJoin() = default;
  void CloseAll() noexcept;
  std::vector<int> fds_;
};

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_JOIN_H_
