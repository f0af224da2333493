#include "fake_kernel.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace knbench::cgroups::testing {
namespace fs = std::filesystem;

TempTree::TempTree() {
  char tmpl[] = "/tmp/cgroups_test.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
}

TempTree::~TempTree() {
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

std::string TempTree::Path(const std::string& relative) const {
  return root_ + "/" + relative;
}

void TempTree::Write(const std::string& relative,
                     const std::string& text) const {
  const fs::path path = Path(relative);
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string TempTree::Read(const std::string& relative) const {
  std::ifstream in(Path(relative));
  if (!in) return "<missing>";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool TempTree::Exists(const std::string& relative) const {
  return fs::exists(Path(relative));
}

Files V2Files() {
  return {
      {"cgroup.controllers", "cpu memory\n"},
      {"cgroup.subtree_control", "\n"},
      {"cgroup.procs", ""},
      {"cpu.weight", "100\n"},
      {"cpu.max", "max 100000\n"},
      {"cpu.stat",
       "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\n"
       "nr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"},
      {"memory.max", "max\n"},
      {"memory.current", "0\n"},
      {"memory.stat",
       "anon 0\nfile 0\nkernel 0\nshmem 0\nactive_anon 0\ninactive_anon 0\n"
       "active_file 0\ninactive_file 0\nunevictable 0\n"},
      {"memory.events",
       "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"},
  };
}

Files V1Files(const std::string& controllers) {
  Files files = {{"cgroup.procs", ""}, {"tasks", ""}};
  for (const absl::string_view c : absl::StrSplit(controllers, ',')) {
    if (c == "cpu") {
      files["cpu.shares"] = "1024\n";
      files["cpu.cfs_period_us"] = "100000\n";
      files["cpu.cfs_quota_us"] = "-1\n";
      files["cpu.stat"] =
          "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\n"
          "burst_time 0\n";
    } else if (c == "cpuacct") {
      files["cpuacct.usage"] = "0\n";
    } else if (c == "memory") {
      files["memory.limit_in_bytes"] = "9223372036854771712\n";
      files["memory.usage_in_bytes"] = "0\n";
      files["memory.failcnt"] = "0\n";
      files["memory.oom_control"] =
          "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n";
      files["memory.stat"] =
          "cache 0\nrss 0\ninactive_file 0\nactive_file 0\n"
          "total_cache 0\ntotal_rss 0\ntotal_inactive_file 0\n"
          "total_active_file 0\n";
    }
  }
  return files;
}

DirOps FakeKernel(std::function<Files(const std::string& dir)> files_for) {
  DirOps ops;
  ops.make = [files_for](const std::string& path) {
    std::error_code error;
    if (fs::exists(path)) return EEXIST;
    if (!fs::exists(fs::path(path).parent_path())) return ENOENT;
    fs::create_directory(path, error);
    if (error) return error.value();
    for (const auto& [name, text] : files_for(path)) {
      std::ofstream(path + "/" + name) << text;
    }
    return 0;
  };
  ops.remove = [](const std::string& path) {
    if (!fs::exists(path)) return ENOENT;
    for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
      if (entry.is_directory()) return EBUSY;  // a child cgroup
    }
    std::error_code error;
    fs::remove_all(path, error);
    return error ? error.value() : 0;
  };
  return ops;
}

DirOps FakeV2Kernel() {
  return FakeKernel([](const std::string&) { return V2Files(); });
}

DirOps FakeV1Kernel(const TempTree& tree) {
  const std::string mounts = tree.Path("sys/fs/cgroup/");
  return FakeKernel([mounts](const std::string& dir) {
    // The hierarchy is the first path element below the mounts.
    const std::string below = dir.substr(mounts.size());
    return V1Files(below.substr(0, below.find('/')));
  });
}

SystemFiles FakeV2(const TempTree& tree, const std::string& own_path,
                   const std::string& controllers) {
  const std::string own = "sys/fs/cgroup" + own_path;
  Files files = V2Files();
  files["cgroup.controllers"] = controllers + "\n";
  files["cgroup.procs"] = absl::StrCat(getpid(), "\n");
  for (const auto& [name, text] : files) tree.Write(own + "/" + name, text);
  tree.Write("proc/self/cgroup", "0::" + own_path + "\n");
  tree.Write("proc/self/mountinfo",
             absl::StrCat("25 1 0:22 / / rw,relatime - ext4 /dev/vda rw\n",
                          "30 25 0:26 / ", tree.Path("sys/fs/cgroup"),
                          " rw,nosuid,nodev,noexec,relatime shared:4 - "
                          "cgroup2 cgroup2 rw,nsdelegate\n"));
  return {tree.Path("proc/self/cgroup"), tree.Path("proc/self/mountinfo")};
}

SystemFiles FakeV1(const TempTree& tree, bool cpu_cpuacct_together,
                   const std::string& own_path) {
  std::vector<std::string> hierarchies = {"memory"};
  if (cpu_cpuacct_together) {
    hierarchies.push_back("cpu,cpuacct");
  } else {
    hierarchies.insert(hierarchies.end(), {"cpu", "cpuacct"});
  }
  std::string cgroup, mountinfo = "25 1 0:22 / / rw - ext4 /dev/vda rw\n";
  int id = 30;
  for (const std::string& h : hierarchies) {
    const std::string mount = "sys/fs/cgroup/" + h;
    for (const auto& [name, text] : V1Files(h)) {
      tree.Write(mount + own_path + "/" + name, text);
    }
    absl::StrAppend(&cgroup, id - 29, ":", h, ":", own_path, "\n");
    absl::StrAppend(&mountinfo, id, " 25 0:", id, " / ", tree.Path(mount),
                    " rw,nosuid - cgroup cgroup rw,", h, "\n");
    ++id;
  }
  tree.Write("proc/self/cgroup", cgroup + "0::/\n");
  tree.Write("proc/self/mountinfo", mountinfo);
  return {tree.Path("proc/self/cgroup"), tree.Path("proc/self/mountinfo")};
}

}  // namespace knbench::cgroups::testing
