#include "instances.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "backend.h"
#include "knbench/common/proc_stat.h"

namespace knbench::cgroups {
namespace {

std::vector<std::string> ChildDirs(const std::string& dir) {
  std::vector<std::string> children;
  DIR* stream = opendir(dir.c_str());
  if (stream == nullptr) return children;
  while (const dirent* entry = readdir(stream)) {
    const std::string name = entry->d_name;
    if (entry->d_type == DT_DIR && name != "." && name != "..") {
      children.push_back(name);
    }
  }
  closedir(stream);
  return children;
}

}  // namespace

DirOps DirOps::Kernel() {
  DirOps ops;
  ops.make = [](const std::string& path) {
    return mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
  };
  ops.remove = [](const std::string& path) {
    return rmdir(path.c_str()) == 0 ? 0 : errno;
  };
  return ops;
}

absl::Status RemoveWhenEmpty(const std::string& dir, const DirOps& dirs,
                             absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const int err = dirs.remove(dir);
    if (err == 0 || err == ENOENT) return absl::OkStatus();
    // EBUSY: a process that exited may still be leaving the cgroup.
    if (err != EBUSY || absl::Now() >= deadline) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove ", dir, ": ", strerror(err)));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
}

std::string InstanceName(const std::string& prefix, const InstanceId& id) {
  return absl::StrCat(prefix, "-", id.pid, "-", id.start_ticks);
}

std::optional<InstanceId> ParseInstanceName(const std::string& prefix,
                                            const std::string& name) {
  if (!absl::StartsWith(name, prefix + "-")) return std::nullopt;
  const std::vector<std::string> numbers =
      absl::StrSplit(name.substr(prefix.size() + 1), '-');
  InstanceId id;
  // SimpleAtoi takes signs and spaces; an instance name has digits only.
  for (const std::string& number : numbers) {
    if (number.empty() ||
        number.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
  }
  if (numbers.size() != 2 || !absl::SimpleAtoi(numbers[0], &id.pid) ||
      !absl::SimpleAtoi(numbers[1], &id.start_ticks) || id.pid <= 0) {
    return std::nullopt;
  }
  return id;
}

bool InstanceAlive(const std::string& proc_root, const InstanceId& id) {
  const std::optional<ProcStat> stat =
      ReadProcStat(absl::StrCat(proc_root, "/", id.pid));
  return stat.has_value() && stat->start_ticks == id.start_ticks;
}

int RemoveLeftovers(const std::vector<std::string>& parents,
                    const std::string& prefix, const std::string& proc_root,
                    const DirOps& dirs) {
  int removed = 0;
  for (const std::string& parent : parents) {
    for (const std::string& name : ChildDirs(parent)) {
      const std::optional<InstanceId> id = ParseInstanceName(prefix, name);
      if (!id || InstanceAlive(proc_root, *id)) continue;
      const std::string instance = parent + "/" + name;
      // A child that still holds a process (or a child of its own) stays,
      // and so does the instance.
      for (const std::string& child : ChildDirs(instance)) {
        dirs.remove(instance + "/" + child);
      }
      if (dirs.remove(instance) == 0) ++removed;
    }
  }
  return removed;
}

}  // namespace knbench::cgroups
