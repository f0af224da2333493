// Naming an instance's directories by its pid and start time, and removing
// what dead instances left behind (internal).
#ifndef KNBENCH_CGROUPS_SRC_INSTANCES_H_
#define KNBENCH_CGROUPS_SRC_INSTANCES_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "knbench/cgroups/manager.h"

namespace knbench::cgroups {

struct InstanceId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // /proc/<pid>/stat starttime
};

// "<prefix>-<pid>-<start ticks>".
std::string InstanceName(const std::string& prefix, const InstanceId& id);

// The id in `name` if it is exactly an instance name with this prefix.
std::optional<InstanceId> ParseInstanceName(const std::string& prefix,
                                            const std::string& name);

// Whether the process that named it still runs: same pid, same start time
// (a reused pid started later).
bool InstanceAlive(const std::string& proc_root, const InstanceId& id);

// Under each of `parents`, for each directory named as a dead instance of
// `prefix`: removes its child directories that are empty, then it, if that
// emptied it. Touches nothing else. Returns the instance directories
// removed.
int RemoveLeftovers(const std::vector<std::string>& parents,
                    const std::string& prefix, const std::string& proc_root,
                    const DirOps& dirs);

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_SRC_INSTANCES_H_
