#include "knbench/common/env.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int32_t, test_port, 50051, "port flag used by the env tests");

namespace knbench {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"KNB_A", "KNB_B"}) unsetenv(name);
    absl::SetFlag(&FLAGS_test_port, 50051);
  }
};

TEST_F(EnvTest, FirstEnvTakesTheFirstNonEmptyInOrder) {
  EXPECT_FALSE(FirstEnv({"KNB_A", "KNB_B"}).has_value());
  setenv("KNB_B", "2", 1);
  setenv("KNB_A", "", 1);  // Empty counts as unset.
  auto value = FirstEnv({"KNB_A", "KNB_B"});
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->name, "KNB_B");
  setenv("KNB_A", "1", 1);
  EXPECT_EQ(FirstEnv({"KNB_A", "KNB_B"})->value, "1");
}

TEST_F(EnvTest, ParsePortAcceptsRangeAndNamesTheSourceOnError) {
  EXPECT_EQ(*ParsePort("0", "x"), 0);
  EXPECT_EQ(*ParsePort("65535", "x"), 65535);
  for (const char* bad : {"-1", "65536", "80a", "", "http"}) {
    absl::StatusOr<int> port = ParsePort(bad, "--grpc-port");
    ASSERT_FALSE(port.ok()) << bad;
    EXPECT_NE(port.status().message().find("--grpc-port"), std::string::npos);
  }
}

TEST_F(EnvTest, EnvSetsTheDefaultAndPrecedenceFollowsTheListOrder) {
  ASSERT_TRUE(
      SetPortFlagDefaultFromEnv(&FLAGS_test_port, {"KNB_A", "KNB_B"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 50051);  // Nothing set.
  setenv("KNB_B", "9000", 1);
  ASSERT_TRUE(
      SetPortFlagDefaultFromEnv(&FLAGS_test_port, {"KNB_A", "KNB_B"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 9000);
  setenv("KNB_A", "8080", 1);
  ASSERT_TRUE(
      SetPortFlagDefaultFromEnv(&FLAGS_test_port, {"KNB_A", "KNB_B"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 8080);
}

TEST_F(EnvTest, BadEnvValueIsAnErrorThatNamesTheVariable) {
  setenv("KNB_A", "eighty", 1);
  absl::Status status = SetPortFlagDefaultFromEnv(&FLAGS_test_port, {"KNB_A"});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("KNB_A"), std::string::npos);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 50051);
}

TEST_F(EnvTest, InstanceNamePrefersPodName) {
  setenv("POD_NAME", "worker-abc", 1);
  EXPECT_EQ(InstanceName(), "worker-abc");
  unsetenv("POD_NAME");
  EXPECT_FALSE(InstanceName().empty());
  EXPECT_NE(InstanceName(), "worker-abc");
}

}  // namespace
}  // namespace knbench
