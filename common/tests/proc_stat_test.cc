#include "knbench/common/proc_stat.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace knbench {
namespace {

class ProcStatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/proc_stat_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(ProcStatTest, FieldsCountFromTheLastParenthesis) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  // A command name with a space and a ')' must not shift the fields.
  Write("stat",
        "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
        "250 150 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n");
  const std::optional<ProcStat> stat = ReadProcStat(dir_);
  ASSERT_TRUE(stat.has_value());
  EXPECT_DOUBLE_EQ(stat->cpu_seconds, 400 / ticks);
  EXPECT_EQ(stat->start_ticks, 987654u);
}

TEST_F(ProcStatTest, ShortOrMissingFilesAreEmpty) {
  EXPECT_FALSE(ReadProcStat(dir_).has_value());
  EXPECT_FALSE(ReadResidentBytes(dir_).has_value());
  Write("stat", "1 (x) S 1 2 3\n");
  EXPECT_FALSE(ReadProcStat(dir_).has_value());
}

TEST_F(ProcStatTest, ResidentIsPagesTimesPageSize) {
  Write("statm", "1000 25 3 1 0 20 0\n");
  EXPECT_DOUBLE_EQ(ReadResidentBytes(dir_).value(),
                   25.0 * static_cast<double>(sysconf(_SC_PAGESIZE)));
}

TEST(ProcStatSelf, ThisProcessHasStartedAndIsResident) {
  const std::optional<ProcStat> self = ReadProcStat("/proc/self");
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(self->start_ticks, 0u);
  EXPECT_GT(ReadResidentBytes("/proc/self").value_or(0), 0);
}

}  // namespace
}  // namespace knbench
