#include "knbench/cgroups/resources.h"

#include "gtest/gtest.h"

namespace knbench::cgroups {
namespace {

TEST(KubeletNumbers, SharesAreMillicoresTimes1024Over1000Clamped) {
  EXPECT_EQ(CpuSharesFromMillicores(500), 512);
  EXPECT_EQ(CpuSharesFromMillicores(250), 256);
  EXPECT_EQ(CpuSharesFromMillicores(1000), 1024);
  EXPECT_EQ(CpuSharesFromMillicores(1), 2);  // 1 × 1024 / 1000 = 1 → min 2
  EXPECT_EQ(CpuSharesFromMillicores(0), 2);
  EXPECT_EQ(CpuSharesFromMillicores(1000000), 262144);
}

TEST(KubeletNumbers, QuotaIsMillicoresOfThePeriodAtLeastOneMillisecond) {
  EXPECT_EQ(CfsQuotaMicrosFromMillicores(200), 20000);
  EXPECT_EQ(CfsQuotaMicrosFromMillicores(1000), 100000);
  EXPECT_EQ(CfsQuotaMicrosFromMillicores(2500), 250000);
  EXPECT_EQ(CfsQuotaMicrosFromMillicores(5), 1000);  // 500 µs → 1 ms
  EXPECT_EQ(CfsQuotaMicrosFromMillicores(200, 50000), 10000);
}

TEST(KubeletNumbers, V2WeightFromSharesAndBack) {
  EXPECT_EQ(CpuWeightFromShares(2), 1);
  EXPECT_EQ(CpuWeightFromShares(1024), 39);  // 1 + 1022 × 9999 / 262142
  EXPECT_EQ(CpuWeightFromShares(512), 20);
  EXPECT_EQ(CpuWeightFromShares(262144), 10000);
  EXPECT_EQ(CpuSharesFromWeight(1), 2);
  EXPECT_EQ(CpuSharesFromWeight(39), 998);  // cAdvisor's rounding
  EXPECT_EQ(CpuSharesFromWeight(10000), 262144);
}

TEST(ApiDefaults, ARequestLeftOutBecomesTheLimit) {
  Resources r;
  r.cpu_limit_millicores = 300;
  r.memory_limit_bytes = 1 << 20;
  const Resources d = WithApiDefaults(r);
  EXPECT_EQ(d.cpu_request_millicores, 300);
  EXPECT_EQ(d.memory_request_bytes, 1 << 20);
  r.cpu_request_millicores = 100;
  EXPECT_EQ(WithApiDefaults(r).cpu_request_millicores, 100);
  EXPECT_EQ(WithApiDefaults(Resources()), Resources());
}

TEST(KubeletConfigTest, RequestToSharesLimitToQuotaMemoryToLimit) {
  Resources r;
  r.cpu_request_millicores = 500;
  r.cpu_limit_millicores = 1000;
  r.memory_request_bytes = 64 << 20;  // not enforced
  r.memory_limit_bytes = 256 << 20;
  const CgroupConfig c = KubeletConfig(r);
  EXPECT_EQ(c.cpu_shares, 512);
  EXPECT_EQ(c.cfs_quota_micros, 100000);
  EXPECT_EQ(c.memory_limit_bytes, 256 << 20);
}

TEST(KubeletConfigTest, NothingSetLeavesTheKernelDefaults) {
  const CgroupConfig c = KubeletConfig(Resources());
  EXPECT_FALSE(c.cpu_shares.has_value());
  EXPECT_FALSE(c.cfs_quota_micros.has_value());
  EXPECT_FALSE(c.memory_limit_bytes.has_value());
}

TEST(KubeletConfigTest, ALimitAloneAlsoSetsSharesAndZeroSetsNoQuota) {
  Resources r;
  r.cpu_limit_millicores = 200;
  EXPECT_EQ(KubeletConfig(r).cpu_shares, 204);
  EXPECT_EQ(KubeletConfig(r).cfs_quota_micros, 20000);
  r.cpu_limit_millicores = 0;
  EXPECT_FALSE(KubeletConfig(r).cfs_quota_micros.has_value());
  EXPECT_EQ(KubeletConfig(r).cpu_shares, 2);
}

}  // namespace
}  // namespace knbench::cgroups
