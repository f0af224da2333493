// cgroup v2: one unified hierarchy. A cgroup can hand cpu and memory to its
// children only while it holds no process itself ("no internal processes"),
// so if our own cgroup does not enable them yet, this process first moves
// into a leaf of its instance directory, then enables them (and undoes both
// on release). Everything stays inside our own cgroup.
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "backend.h"
#include "file_io.h"

namespace knbench::cgroups {
namespace {

// The leaf this process moves into.
constexpr char kSelfLeaf[] = "supervisor";

bool EnablesCpuAndMemory(const std::string& dir) {
  Reads reads;
  const std::vector<std::string> enabled =
      reads.Words(dir + "/cgroup.subtree_control");
  auto has = [&](const char* c) {
    return std::find(enabled.begin(), enabled.end(), c) != enabled.end();
  };
  return has("cpu") && has("memory");
}

class V2Backend : public Backend {
 public:
  absl::Status PrepareInstance(const ControllerDirs& own,
                               const ControllerDirs& instance,
                               const DirOps& dirs) override {
    if (!EnablesCpuAndMemory(own.cpu)) {
      absl::Status moved = MoveSelfAndEnable(own.cpu, instance.cpu, dirs);
      if (!moved.ok()) return moved;
    }
    return WriteText(instance.cpu + "/cgroup.subtree_control", "+cpu +memory");
  }

  absl::Status ReleaseInstance(const ControllerDirs& own,
                               const ControllerDirs& instance,
                               const DirOps& dirs) override {
    // Children first: the kernel refuses to disable a controller a child
    // still enables.
    absl::Status status =
        WriteText(instance.cpu + "/cgroup.subtree_control", "-cpu -memory");
    if (!status.ok() || !moved_) return status;
    const std::string leaf = instance.cpu + "/" + kSelfLeaf;
    status = WriteAll({{own.cpu + "/cgroup.subtree_control", "-cpu -memory"},
                       {own.cpu + "/cgroup.procs", absl::StrCat(getpid())}});
    if (!status.ok()) return status;
    moved_ = false;
    return RemoveWhenEmpty(leaf, dirs, absl::Seconds(1));
  }

  absl::Status Apply(const ControllerDirs& pod,
                     const CgroupConfig& config) const override {
    std::vector<std::pair<std::string, std::string>> writes;
    if (config.cpu_shares) {
      writes.emplace_back(
          pod.cpu + "/cpu.weight",
          absl::StrCat(CpuWeightFromShares(*config.cpu_shares)));
    }
    if (config.cfs_quota_micros) {
      writes.emplace_back(
          pod.cpu + "/cpu.max",
          absl::StrCat(*config.cfs_quota_micros, " ", kCfsPeriodMicros));
    }
    if (config.memory_limit_bytes) {
      writes.emplace_back(pod.memory + "/memory.max",
                          absl::StrCat(*config.memory_limit_bytes));
    }
    return WriteAll(writes);
  }

  absl::StatusOr<Usage> ReadUsage(const ControllerDirs& pod,
                                  pid_t) const override {
    Reads reads;
    Usage usage;
    const std::string cpu_stat = pod.cpu + "/cpu.stat";
    usage.cpu_seconds =
        reads.Field(reads.Keyed(cpu_stat), "usage_usec", cpu_stat) / 1e6;
    ReadCfs(reads, cpu_stat, "throttled_usec", 1e-6, usage);
    usage.memory_working_set_bytes =
        WorkingSet(reads, pod.memory + "/memory.current",
                   pod.memory + "/memory.stat", "inactive_file");
    const std::string events = pod.memory + "/memory.events";
    usage.oom_kills = reads.Field(reads.Keyed(events), "oom_kill", events);
    if (!reads.ok()) return reads.status();
    return usage;
  }

  absl::StatusOr<Spec> ReadSpec(const ControllerDirs& pod) const override {
    Reads reads;
    Spec spec;
    spec.cpu_shares = CpuSharesFromWeight(reads.Int(pod.cpu + "/cpu.weight"));
    const std::string cpu_max = pod.cpu + "/cpu.max";
    const std::vector<std::string> quota_period = reads.Words(cpu_max);
    if (reads.ok() && quota_period.size() != 2) {
      return absl::DataLossError(cpu_max + " is not \"QUOTA PERIOD\"");
    }
    if (reads.ok()) {
      spec.cfs_quota_micros = reads.Limit(quota_period[0], cpu_max);
      spec.cfs_period_micros =
          reads.Limit(quota_period[1], cpu_max).value_or(0);
    }
    const std::string memory_max = pod.memory + "/memory.max";
    const std::vector<std::string> memory = reads.Words(memory_max);
    if (reads.ok() && !memory.empty()) {
      spec.memory_limit_bytes = reads.Limit(memory[0], memory_max);
    }
    if (!reads.ok()) return reads.status();
    return spec;
  }

 private:
  absl::Status MoveSelfAndEnable(const std::string& own,
                                 const std::string& instance,
                                 const DirOps& dirs) {
    const std::string leaf = instance + "/" + kSelfLeaf;
    if (const int err = dirs.make(leaf); err != 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", leaf, ": ", strerror(err)));
    }
    const std::string pid = absl::StrCat(getpid());
    absl::Status status = WriteText(leaf + "/cgroup.procs", pid);
    if (status.ok()) {
      status = WriteText(own + "/cgroup.subtree_control", "+cpu +memory");
      if (!status.ok()) {
        (void)WriteText(own + "/cgroup.procs", pid);  // back where we were
        status = absl::FailedPreconditionError(absl::StrCat(
            own,
            " holds other processes (start this process in a cgroup of "
            "its own, e.g. systemd-run --scope -p Delegate=yes): ",
            status.message()));
      }
    }
    if (!status.ok()) {
      (void)RemoveWhenEmpty(leaf, dirs, absl::Seconds(1));
      return status;
    }
    moved_ = true;
    return absl::OkStatus();
  }

  bool moved_ = false;
};

}  // namespace

std::unique_ptr<Backend> MakeV2Backend() {
  return std::make_unique<V2Backend>();
}

}  // namespace knbench::cgroups
