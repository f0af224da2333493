// A directory tree laid out like cgroupfs, in a temp dir, and a fake kernel
// for it: mkdir fills a new cgroup with the interface files the kernel
// would, holding the kernel's defaults; rmdir removes them, refusing while
// child cgroups exist. Tests then write counters where the kernel would and
// read back what the library wrote.
#ifndef KNBENCH_CGROUPS_TESTS_FAKE_KERNEL_H_
#define KNBENCH_CGROUPS_TESTS_FAKE_KERNEL_H_

#include <functional>
#include <map>
#include <string>

#include "knbench/cgroups/layout.h"
#include "knbench/cgroups/manager.h"

namespace knbench::cgroups::testing {

class TempTree {
 public:
  TempTree();
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }
  std::string Path(const std::string& relative) const;
  // Writes `text` to root/relative, making the directories on the way.
  void Write(const std::string& relative, const std::string& text) const;
  // The file's content, or "<missing>".
  std::string Read(const std::string& relative) const;
  bool Exists(const std::string& relative) const;

 private:
  std::string root_;
};

// Interface files of a new cgroup, by name, with the kernel's defaults.
using Files = std::map<std::string, std::string>;
Files V2Files();
// The files of a v1 hierarchy mounted with `controllers` ("cpu", "cpuacct",
// "memory" or "cpu,cpuacct").
Files V1Files(const std::string& controllers);

// mkdir fills the directory with files_for(its path).
DirOps FakeKernel(std::function<Files(const std::string& dir)> files_for);

// FakeKernel for the trees below.
DirOps FakeV2Kernel();
DirOps FakeV1Kernel(const TempTree& tree);

// A process sitting in `own_path` of a v2 hierarchy mounted at
// root/sys/fs/cgroup, whose cgroup.controllers are `controllers`. Writes
// proc/self/cgroup and proc/self/mountinfo under the tree and returns them.
SystemFiles FakeV2(const TempTree& tree, const std::string& own_path,
                   const std::string& controllers);

// The same for v1: cpu and cpuacct (co-mounted or not) and memory mounted
// under root/sys/fs/cgroup, the process in `own_path` of each.
SystemFiles FakeV1(const TempTree& tree, bool cpu_cpuacct_together,
                   const std::string& own_path);

}  // namespace knbench::cgroups::testing

#endif  // KNBENCH_CGROUPS_TESTS_FAKE_KERNEL_H_
