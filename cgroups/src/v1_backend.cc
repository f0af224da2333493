// cgroup v1: the cpu, cpuacct and memory hierarchies (cpu and cpuacct are
// often co-mounted; then both directories are the same).
#include <string>

#include "absl/strings/str_cat.h"
#include "backend.h"
#include "file_io.h"

namespace knbench::cgroups {
namespace {

// The kernel shows "no limit" as the largest page-aligned counter
// (9223372036854771712 with 4 KiB pages); anything this large is none.
constexpr int64_t kUnlimitedBytes = int64_t{1} << 62;

class V1Backend : public Backend {
 public:
  absl::Status Apply(const ControllerDirs& pod,
                     const CgroupConfig& config) const override {
    std::vector<std::pair<std::string, std::string>> writes;
    if (config.cpu_shares) {
      writes.emplace_back(pod.cpu + "/cpu.shares",
                          absl::StrCat(*config.cpu_shares));
    }
    if (config.cfs_quota_micros) {
      writes.emplace_back(pod.cpu + "/cpu.cfs_period_us",
                          absl::StrCat(kCfsPeriodMicros));
      writes.emplace_back(pod.cpu + "/cpu.cfs_quota_us",
                          absl::StrCat(*config.cfs_quota_micros));
    }
    if (config.memory_limit_bytes) {
      writes.emplace_back(pod.memory + "/memory.limit_in_bytes",
                          absl::StrCat(*config.memory_limit_bytes));
    }
    return WriteAll(writes);
  }

  absl::StatusOr<Usage> ReadUsage(const ControllerDirs& pod,
                                  pid_t) const override {
    Reads reads;
    Usage usage;
    usage.cpu_seconds = reads.Int(pod.cpuacct + "/cpuacct.usage") / 1e9;
    ReadCfs(reads, pod.cpu + "/cpu.stat", "throttled_time", 1e-9, usage);
    usage.memory_working_set_bytes =
        WorkingSet(reads, pod.memory + "/memory.usage_in_bytes",
                   pod.memory + "/memory.stat", "total_inactive_file");
    usage.oom_kills = OomKills(reads, pod.memory);
    if (!reads.ok()) return reads.status();
    return usage;
  }

  absl::StatusOr<Spec> ReadSpec(const ControllerDirs& pod) const override {
    Reads reads;
    Spec spec;
    spec.cpu_shares = reads.Int(pod.cpu + "/cpu.shares");
    const int64_t quota = reads.Int(pod.cpu + "/cpu.cfs_quota_us");
    if (quota > 0) spec.cfs_quota_micros = quota;
    spec.cfs_period_micros = reads.Int(pod.cpu + "/cpu.cfs_period_us");
    const int64_t limit = reads.Int(pod.memory + "/memory.limit_in_bytes");
    if (limit < kUnlimitedBytes) spec.memory_limit_bytes = limit;
    if (!reads.ok()) return reads.status();
    return spec;
  }

 private:
  // Kernels since 4.13 count OOM kills in memory.oom_control; older ones
  // only count the times the limit was hit.
  static uint64_t OomKills(Reads& reads, const std::string& memory_dir) {
    const std::string control = memory_dir + "/memory.oom_control";
    const auto keyed = reads.Keyed(control);
    if (keyed.count("oom_kill") != 0) return keyed.at("oom_kill");
    return reads.Int(memory_dir + "/memory.failcnt");
  }
};

}  // namespace

std::unique_ptr<Backend> MakeV1Backend() {
  return std::make_unique<V1Backend>();
}

}  // namespace knbench::cgroups
