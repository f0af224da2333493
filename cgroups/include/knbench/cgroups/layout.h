// Where this process's own cgroups are, and which cgroup version can give
// pods their resources: v1 (cpu, cpuacct and memory hierarchies, writable),
// v2 (a writable cgroup whose cgroup.controllers has cpu and memory), or
// none. Read from /proc/self/cgroup and /proc/self/mountinfo, whose paths
// are injectable so a directory tree laid out like cgroupfs stands in for
// the kernel in tests.
#ifndef KNBENCH_CGROUPS_LAYOUT_H_
#define KNBENCH_CGROUPS_LAYOUT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace knbench::cgroups {

enum class Version { kNone, kV1, kV2 };
const char* VersionName(Version version);  // "none", "v1", "v2"

struct SystemFiles {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string mountinfo = "/proc/self/mountinfo";
};

// One directory per controller; in v2, and for co-mounted v1 controllers
// (cpu,cpuacct), several are the same directory.
struct ControllerDirs {
  std::string cpu;
  std::string cpuacct;
  std::string memory;

  // Each distinct directory once, in the order cpu, cpuacct, memory.
  std::vector<std::string> Distinct() const;
  // Every directory with `/name` appended.
  ControllerDirs Child(const std::string& name) const;
};

struct Layout {
  Version version = Version::kNone;
  // This process's own cgroup in each hierarchy: the root of everything the
  // library creates.
  ControllerDirs own;
  // The part of `own.cpu` below its hierarchy's root, e.g. "/" or
  // "/user.slice/x.scope": cAdvisor's `id` label is relative to it.
  std::string own_cpu_path;
  // For kNone: why neither version can be used (one line).
  std::string reason;
};

// controller → path from /proc/self/cgroup ("4:memory:/a" → memory → /a;
// "2:cpu,cpuacct:/" → both; the v2 line "0::/b" → "" → /b; a named
// hierarchy "name=systemd" is kept under that name).
std::map<std::string, std::string> ParseProcCgroup(absl::string_view text);

struct Mount {
  std::string root;                        // the hierarchy path mounted there
  std::string mount_point;                 // octal escapes (\040) decoded
  std::string fs_type;                     // "cgroup" or "cgroup2" for ours
  std::vector<std::string> super_options;  // v1: the controllers
};
std::vector<Mount> ParseMountinfo(absl::string_view text);

Layout DetectLayout(const SystemFiles& files = SystemFiles());

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_LAYOUT_H_
