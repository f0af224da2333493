// local_serving's output files: what is written arrives, and a write error
// is kept (the first one) from the flush that met it.
#include "knbench/local_serving/output_file.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

TEST(OutputFile, WritesWhatIsFlushed) {
  const std::string path = ::testing::TempDir() + "/output_file_test.csv";
  absl::StatusOr<std::unique_ptr<OutputFile>> file =
      OutputFile::Open("--stats-out", path);
  ASSERT_TRUE(file.ok()) << file.status();
  (*file)->stream() << "time_s,value\n" << 1 << ",2.5\n" << std::flush;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "time_s,value\n1,2.5\n");
  EXPECT_TRUE((*file)->Close().ok());
  EXPECT_TRUE((*file)->Close().ok());  // idempotent
}

TEST(OutputFile, AWriteErrorIsKeptFromTheFlushThatMetIt) {
  absl::StatusOr<std::unique_ptr<OutputFile>> file =
      OutputFile::Open("--decisions-out", "/dev/full");
  ASSERT_TRUE(file.ok()) << file.status();
  (*file)->stream() << "a row\n";
  EXPECT_TRUE((*file)->status().ok());  // nothing written yet
  (*file)->stream() << std::flush;
  const absl::Status error = (*file)->status();
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.message(),
            "--decisions-out /dev/full: write: No space left on device");
  (*file)->stream() << "another row\n" << std::flush;
  EXPECT_EQ((*file)->status(), error);
  EXPECT_EQ((*file)->Close(), error);
}

TEST(OutputFile, AFileThatCannotBeCreatedIsAnError) {
  absl::StatusOr<std::unique_ptr<OutputFile>> file =
      OutputFile::Open("--stats-out", "/nonexistent/dir/stats.csv");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(),
            "cannot write --stats-out /nonexistent/dir/stats.csv: No such file "
            "or directory");
}

}  // namespace
}  // namespace knbench::local_serving
