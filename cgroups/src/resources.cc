#include "knbench/cgroups/resources.h"

#include <algorithm>

namespace knbench::cgroups {
namespace {

constexpr int64_t kMinShares = 2;
constexpr int64_t kMaxShares = 262144;
constexpr int64_t kSharesPerCpu = 1024;
constexpr int64_t kMillicoresPerCpu = 1000;
constexpr int64_t kMinQuotaMicros = 1000;
constexpr int64_t kMaxWeight = 10000;

}  // namespace

Resources WithApiDefaults(Resources resources) {
  if (!resources.cpu_request_millicores) {
    resources.cpu_request_millicores = resources.cpu_limit_millicores;
  }
  if (!resources.memory_request_bytes) {
    resources.memory_request_bytes = resources.memory_limit_bytes;
  }
  return resources;
}

int64_t CpuSharesFromMillicores(int64_t millicores) {
  return std::clamp(millicores * kSharesPerCpu / kMillicoresPerCpu, kMinShares,
                    kMaxShares);
}

int64_t CfsQuotaMicrosFromMillicores(int64_t millicores,
                                     int64_t period_micros) {
  return std::max(millicores * period_micros / kMillicoresPerCpu,
                  kMinQuotaMicros);
}

int64_t CpuWeightFromShares(int64_t shares) {
  return 1 +
         ((shares - kMinShares) * (kMaxWeight - 1)) / (kMaxShares - kMinShares);
}

int64_t CpuSharesFromWeight(int64_t weight) {
  return kMinShares +
         ((weight - 1) * (kMaxShares - kMinShares)) / (kMaxWeight - 1);
}

CgroupConfig KubeletConfig(const Resources& resources) {
  const Resources r = WithApiDefaults(resources);
  CgroupConfig config;
  // A pod without a CPU request keeps the kernel's default weight: here it
  // competes with the driver and local_serving directly, not inside a
  // kubepods slice, so the kubelet's 2 shares for BestEffort would starve it.
  if (r.cpu_request_millicores) {
    config.cpu_shares = CpuSharesFromMillicores(*r.cpu_request_millicores);
  }
  // As MilliCPUToQuota: a zero limit sets no quota.
  if (r.cpu_limit_millicores.value_or(0) > 0) {
    config.cfs_quota_micros =
        CfsQuotaMicrosFromMillicores(*r.cpu_limit_millicores);
  }
  config.memory_limit_bytes = r.memory_limit_bytes;
  return config;
}

}  // namespace knbench::cgroups
