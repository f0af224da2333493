#include "knbench/common/quantity.h"

#include "gtest/gtest.h"

namespace knbench {
namespace {

TEST(Quantity, CpuInMillicoresRoundedUp) {
  EXPECT_EQ(*ParseCpuMillis("500m"), 500);
  EXPECT_EQ(*ParseCpuMillis("1"), 1000);
  EXPECT_EQ(*ParseCpuMillis("0.5"), 500);
  // Exact decimal arithmetic: 1.1 cores is 1100 m, not 1101.
  EXPECT_EQ(*ParseCpuMillis("1.1"), 1100);
  EXPECT_EQ(*ParseCpuMillis("2.0005"), 2001);  // up, as MilliValue()
  EXPECT_EQ(*ParseCpuMillis("100000n"), 1);    // 0.1 m rounds up to 1
  EXPECT_EQ(*ParseCpuMillis("1.5k"), 1500000);
  EXPECT_EQ(*ParseCpuMillis("2e3"), 2000000);
  EXPECT_EQ(*ParseCpuMillis("0"), 0);
  EXPECT_EQ(*ParseCpuMillis("+250m"), 250);
  EXPECT_EQ(*ParseCpuMillis(" 1 "), 1000);
}

TEST(Quantity, MemoryInBytes) {
  EXPECT_EQ(*ParseMemoryBytes("256Mi"), 256LL << 20);
  EXPECT_EQ(*ParseMemoryBytes("64Mi"), 64LL << 20);
  EXPECT_EQ(*ParseMemoryBytes("1Gi"), 1LL << 30);
  EXPECT_EQ(*ParseMemoryBytes("1G"), 1000000000);
  EXPECT_EQ(*ParseMemoryBytes("128974848"), 128974848);
  EXPECT_EQ(*ParseMemoryBytes("129e6"), 129000000);
  EXPECT_EQ(*ParseMemoryBytes("0.5Ki"), 512);
  EXPECT_EQ(*ParseMemoryBytes("1500m"), 2);  // 1.5 bytes, up
}

TEST(Quantity, BadQuantitiesNameTheText) {
  for (const char* bad :
       {"", "m", "-1", "1x", "1 Mi", "1.2.3", "Mi1", "1e", "1e99", "1..5"}) {
    const auto cpu = ParseCpuMillis(bad);
    EXPECT_FALSE(cpu.ok()) << bad;
    EXPECT_NE(cpu.status().message().find(std::string("\"") + bad + "\""),
              std::string::npos)
        << cpu.status();
  }
  EXPECT_FALSE(ParseCpuMillis("2000000000k").ok());  // above 10^12 m
  EXPECT_FALSE(ParseMemoryBytes("2Ei").ok());        // above 2^60
  EXPECT_FALSE(ParseMemoryBytes("99999999999999999999999999999999").ok());
}

}  // namespace
}  // namespace knbench
