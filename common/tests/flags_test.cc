#include "knbench/common/flags.h"

#include <map>
#include <set>
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

// Each of `cases` (arguments, part of the error) fails to parse.
struct ErrorCase {
  std::vector<std::string> args;
  std::string message;
};
void ExpectErrors(const std::vector<ErrorCase>& cases,
                  const std::vector<TableFlag>& table = {}) {
  for (const ErrorCase& c : cases) {
    auto result = ParseFlags(c.args, nullptr, table);
    ASSERT_FALSE(result.ok()) << c.args[0];
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.message));
  }
}

TEST_F(FlagsTest, ErrorsNameTheArgument) {
  ExpectErrors({{{"--bogus=1"}, "unknown flag --bogus"},
                {{"--grpc-port=abc"}, "--grpc-port=abc"},
                {{"--run-duration=12 minutes"}, "--run-duration"},
                {{"--grpc-port"}, "--grpc-port needs a value"},
                {{"--nogrpc-port"}, "unknown flag --nogrpc-port"},
                {{"--nofail-fast=1"}, "takes no value"},
                {{"--flagfile=/etc/passwd"}, "unknown flag --flagfile"}});
}

TEST_F(FlagsTest, HelpListsOurFlagsDashedWithDefaults) {
  const std::string help = FlagsHelp("usage: thing");
  EXPECT_THAT(help, HasSubstr("usage: thing"));
  EXPECT_THAT(help, HasSubstr("--grpc-port (default 50051)\n      the port"));
  EXPECT_THAT(help, HasSubstr("--spin-clock (default \"wall\")"));
  EXPECT_THAT(help, HasSubstr("--run-duration (default 12m)"));
  EXPECT_THAT(help, ::testing::Not(HasSubstr("flagfile")));
}

// Two flags described by a table, as autoscaler_model's settings are.
class TableFlagsTest : public FlagsTest {
 protected:
  TableFlagsTest() {
    table_.push_back({"max_scale", "most pods", "0", false,
                      [this](absl::string_view v) -> absl::Status {
                        if (v.empty() || v.find_first_not_of("0123456789") !=
                                             absl::string_view::npos) {
                          return absl::InvalidArgumentError("not an integer");
                        }
                        values_["max_scale"] = std::string(v);
                        return absl::OkStatus();
                      }});
    table_.push_back({"scale_to_zero", "may it reach zero", "true", true,
                      [this](absl::string_view v) {
                        values_["scale_to_zero"] = std::string(v);
                        return absl::OkStatus();
                      }});
  }
  std::vector<TableFlag> table_;
  std::map<std::string, std::string> values_;
};

TEST_F(TableFlagsTest, TableFlagsParseBesideAbslFlagsInEveryForm) {
  std::set<std::string> given;
  auto positional = ParseFlags(
      {"--max-scale", "3", "--grpc-port=7", "--noscale-to-zero", "pos"}, &given,
      table_);
  ASSERT_TRUE(positional.ok()) << positional.status();
  EXPECT_THAT(*positional, ElementsAre("pos"));
  EXPECT_EQ(values_["max_scale"], "3");
  EXPECT_EQ(values_["scale_to_zero"], "false");
  EXPECT_EQ(absl::GetFlag(FLAGS_grpc_port), 7);
  EXPECT_THAT(given, ElementsAre("grpc_port", "max_scale", "scale_to_zero"));
  ASSERT_TRUE(
      ParseFlags({"--max_scale=4", "--scale-to-zero"}, nullptr, table_).ok());
  EXPECT_EQ(values_["max_scale"], "4");
  EXPECT_EQ(values_["scale_to_zero"], "true");
  ASSERT_TRUE(ParseFlags({"--scale-to-zero=false"}, nullptr, table_).ok());
  EXPECT_EQ(values_["scale_to_zero"], "false");
}

TEST_F(TableFlagsTest, TableFlagErrorsNameTheFlag) {
  ExpectErrors({{{"--max-scale=x"}, "--max-scale=x: not an integer"},
                {{"--max-scale"}, "--max-scale needs a value"},
                {{"--nomax-scale"}, "unknown flag --nomax-scale"},
                {{"--noscale-to-zero=1"}, "--noscale-to-zero takes no value"},
                {{"--min-scale=1"}, "unknown flag --min-scale"}},
               table_);
}

TEST_F(TableFlagsTest, HelpListsTableFlagsSortedAmongTheOthers) {
  const std::string help = FlagsHelp("usage: thing", table_);
  EXPECT_THAT(help, HasSubstr("--max-scale (default 0)\n      most pods\n"));
  EXPECT_THAT(help, HasSubstr("--scale-to-zero (default true)\n"));
  EXPECT_LT(help.find("--grpc-port"), help.find("--max-scale"));
  EXPECT_LT(help.find("--max-scale"), help.find("--run-duration"));
  EXPECT_LT(help.find("--run-duration"), help.find("--scale-to-zero"));
}

TEST_F(TableFlagsTest, ANameInTheTableAndAnAbslFlagIsRefused) {
  table_.push_back({"grpc_port", "again", "1", false,
                    [](absl::string_view) { return absl::OkStatus(); }});
  auto result = ParseFlags({}, nullptr, table_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "flag --grpc-port is defined twice");
}

}  // namespace
}  // namespace knbench
