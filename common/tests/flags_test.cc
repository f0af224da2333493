#include "knbench/common/flags.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int32_t, grpc_port, 50051, "the port");
ABSL_FLAG(std::string, spin_clock, "wall", "the clock");
ABSL_FLAG(bool, fail_fast, false, "stop early");
ABSL_FLAG(absl::Duration, run_duration, absl::Minutes(12), "how long");
ABSL_FLAG(std::vector<std::string>, extra_arg, {}, "repeatable");

namespace knbench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::SetFlag(&FLAGS_grpc_port, 50051);
    absl::SetFlag(&FLAGS_spin_clock, "wall");
    absl::SetFlag(&FLAGS_fail_fast, false);
    absl::SetFlag(&FLAGS_run_duration, absl::Minutes(12));
    absl::SetFlag(&FLAGS_extra_arg, {});
  }
};

TEST_F(FlagsTest, DashedNamesInEveryFormSetTheFlags) {
  auto positional = ParseFlags({"--grpc-port=7000", "--spin-clock", "cpu",
                                "pos", "--fail-fast", "-run-duration=1h30m"});
  ASSERT_TRUE(positional.ok()) << positional.status();
  EXPECT_THAT(*positional, ElementsAre("pos"));
  EXPECT_EQ(absl::GetFlag(FLAGS_grpc_port), 7000);
  EXPECT_EQ(absl::GetFlag(FLAGS_spin_clock), "cpu");
  EXPECT_TRUE(absl::GetFlag(FLAGS_fail_fast));
  EXPECT_EQ(absl::GetFlag(FLAGS_run_duration), absl::Minutes(90));
}

TEST_F(FlagsTest, UnderscoredNamesAndBoolFormsWork) {
  ASSERT_TRUE(ParseFlags({"--grpc_port=1", "--fail-fast=true"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_grpc_port), 1);
  EXPECT_TRUE(absl::GetFlag(FLAGS_fail_fast));
  ASSERT_TRUE(ParseFlags({"--nofail-fast"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_fail_fast));
}

TEST_F(FlagsTest, ReportsWhichFlagsWereGiven) {
  std::set<std::string> given;
  ASSERT_TRUE(ParseFlags({"--grpc-port=7", "--nofail-fast", "x"}, &given).ok());
  EXPECT_THAT(given, ElementsAre("fail_fast", "grpc_port"));
}

TEST_F(FlagsTest, ListFlagsCollectEveryOccurrence) {
  ASSERT_TRUE(ParseFlags({"--extra-arg=--spin-clock=cpu", "--extra-arg",
                          "--spin-nice=0"})
                  .ok());
  EXPECT_THAT(absl::GetFlag(FLAGS_extra_arg),
              ElementsAre("--spin-clock=cpu", "--spin-nice=0"));
  // A later parse starts the list afresh.
  ASSERT_TRUE(ParseFlags({"--extra-arg=x"}).ok());
  EXPECT_THAT(absl::GetFlag(FLAGS_extra_arg), ElementsAre("x"));
}

TEST_F(FlagsTest, DoubleDashEndsFlags) {
  auto positional = ParseFlags({"--", "--grpc-port=1"});
  ASSERT_TRUE(positional.ok());
  EXPECT_THAT(*positional, ElementsAre("--grpc-port=1"));
  EXPECT_EQ(absl::GetFlag(FLAGS_grpc_port), 50051);
}

TEST_F(FlagsTest, ErrorsNameTheArgument) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--bogus=1"}, "unknown flag --bogus"},
           {{"--grpc-port=abc"}, "--grpc-port=abc"},
           {{"--run-duration=12 minutes"}, "--run-duration"},
           {{"--grpc-port"}, "--grpc-port needs a value"},
           {{"--nogrpc-port"}, "unknown flag --nogrpc-port"},
           {{"--nofail-fast=1"}, "takes no value"},
           {{"--flagfile=/etc/passwd"}, "unknown flag --flagfile"}}) {
    auto result = ParseFlags(c.args);
    ASSERT_FALSE(result.ok()) << c.args[0];
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.message));
  }
}

TEST_F(FlagsTest, HelpListsOurFlagsDashedWithDefaults) {
  const std::string help = FlagsHelp("usage: thing");
  EXPECT_THAT(help, HasSubstr("usage: thing"));
  EXPECT_THAT(help, HasSubstr("--grpc-port (default 50051)\n      the port"));
  EXPECT_THAT(help, HasSubstr("--spin-clock (default \"wall\")"));
  EXPECT_THAT(help, HasSubstr("--run-duration (default 12m)"));
  EXPECT_THAT(help, ::testing::Not(HasSubstr("flagfile")));
}

}  // namespace
}  // namespace knbench
