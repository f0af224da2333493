// A pod's resources as a manifest gives them, and the numbers the kubelet
// turns them into (pkg/kubelet/cm/helpers_linux.go; runc's conversion for
// cgroup v2).
#ifndef KNBENCH_CGROUPS_RESOURCES_H_
#define KNBENCH_CGROUPS_RESOURCES_H_

#include <cstdint>
#include <optional>

namespace knbench::cgroups {

// Each one optional, as in a container's `resources`.
struct Resources {
  std::optional<int64_t> cpu_request_millicores;
  std::optional<int64_t> cpu_limit_millicores;
  std::optional<int64_t> memory_request_bytes;  // exported, not enforced
  std::optional<int64_t> memory_limit_bytes;

  bool operator==(const Resources& o) const {
    return cpu_request_millicores == o.cpu_request_millicores &&
           cpu_limit_millicores == o.cpu_limit_millicores &&
           memory_request_bytes == o.memory_request_bytes &&
           memory_limit_bytes == o.memory_limit_bytes;
  }
};

// The API server's defaulting: a request left out while its limit is set
// becomes the limit. What the kubelet applies and kube-state-metrics shows.
Resources WithApiDefaults(Resources resources);

// The kubelet's CFS period: 100 ms.
inline constexpr int64_t kCfsPeriodMicros = 100000;

// MilliCPUToShares: millicores × 1024 / 1000, at least 2, at most 262144.
int64_t CpuSharesFromMillicores(int64_t millicores);

// MilliCPUToQuota: millicores × period / 1000 µs, at least 1 ms (a limit of
// 0 sets no quota: KubeletConfig leaves it out).
int64_t CfsQuotaMicrosFromMillicores(int64_t millicores,
                                     int64_t period_micros = kCfsPeriodMicros);

// cgroup v2's cpu.weight for v1 shares: 1 + ((shares − 2) × 9999) / 262142.
int64_t CpuWeightFromShares(int64_t shares);

// The inverse, as cAdvisor reports v2 weights as shares:
// 2 + ((weight − 1) × 262142) / 9999.
int64_t CpuSharesFromWeight(int64_t weight);

// How the kubelet would configure a pod's cgroup, for the resources after
// WithApiDefaults. Unset fields leave the kernel's default.
struct CgroupConfig {
  std::optional<int64_t> cpu_shares;        // from the CPU request
  std::optional<int64_t> cfs_quota_micros;  // from the CPU limit
  std::optional<int64_t> memory_limit_bytes;
};
CgroupConfig KubeletConfig(const Resources& resources);

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_RESOURCES_H_
