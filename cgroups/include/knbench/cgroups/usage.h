// What a pod's cgroup says, read as cAdvisor reads it: cumulative counters
// the kernel keeps (so they are the cgroup's own values at scrape time) and
// the limits it enforces.
#ifndef KNBENCH_CGROUPS_USAGE_H_
#define KNBENCH_CGROUPS_USAGE_H_

#include <cstdint>
#include <optional>

namespace knbench::cgroups {

struct Usage {
  // v1 cpuacct.usage; v2 cpu.stat usage_usec; else the process's
  // utime + stime from /proc.
  double cpu_seconds = 0;
  // cpu.stat nr_periods, nr_throttled, throttled_time (v1, ns) or
  // throttled_usec (v2). 0 where no quota is set or read.
  uint64_t cfs_periods = 0;
  uint64_t cfs_throttled_periods = 0;
  double cfs_throttled_seconds = 0;
  // usage − inactive file cache, never below 0 (v1 memory.usage_in_bytes −
  // total_inactive_file; v2 memory.current − inactive_file); else the RSS.
  double memory_working_set_bytes = 0;
  // v1 memory.oom_control oom_kill (memory.failcnt on kernels before 4.13,
  // which counts every time the limit was hit); v2 memory.events oom_kill.
  uint64_t oom_kills = 0;
};

// The limits the cgroup holds, read back from its files (cAdvisor's
// container_spec_*). Empty where nothing is enforced.
struct Spec {
  std::optional<int64_t> cpu_shares;  // v2: from cpu.weight
  std::optional<int64_t> cfs_quota_micros;
  int64_t cfs_period_micros = 0;
  std::optional<int64_t> memory_limit_bytes;
};

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_USAGE_H_
