#include "knbench/local_serving/sd_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

TEST(FileSdJson, RunningPodsOnly) {
  PodStatus ready;
  ready.name = "worker-00001-deployment-0abcde";
  ready.pid = 100;
  ready.metrics_port = 4001;
  PodStatus pending;
  pending.name = "worker-00001-deployment-1fghij";
  PodStatus starting;
  starting.name = "worker-00001-deployment-2klmno";
  starting.pid = 101;
  starting.metrics_port = 4002;
  EXPECT_EQ(
      FileSdJson({ready, pending, starting}, "127.0.0.1", "default", "worker"),
      R"([
  {
    "targets": [
      "127.0.0.1:4001"
    ],
    "labels": {
      "pod": "worker-00001-deployment-0abcde",
      "namespace": "default",
      "service": "worker"
    }
  },
  {
    "targets": [
      "127.0.0.1:4002"
    ],
    "labels": {
      "pod": "worker-00001-deployment-2klmno",
      "namespace": "default",
      "service": "worker"
    }
  }
]
)");
  EXPECT_EQ(FileSdJson({pending}, "127.0.0.1", "default", "worker"), "[]\n");
  // An IPv6 host is in brackets, as Prometheus reads host:port.
  starting.name = "p";
  EXPECT_EQ(FileSdJson({starting}, "::1", "ns", "svc"),
            R"([
  {
    "targets": [
      "[::1]:4002"
    ],
    "labels": {
      "pod": "p",
      "namespace": "ns",
      "service": "svc"
    }
  }
]
)");
}

TEST(WriteFileAtomically, ReplacesTheFileWhole) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/knbench_sd_test.json";
  ASSERT_TRUE(WriteFileAtomically(path, "[1]\n").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "[]\n").ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "[]\n");
  std::remove(path.c_str());
  EXPECT_FALSE(WriteFileAtomically("/nonexistent-dir/sd.json", "[]").ok());
}

// A failed rewrite is kept (the first one) for the exit status; a later
// rewrite that works puts the file right but does not forget it.
TEST(SdFileWriter, KeepsTheFirstFailure) {
  const std::string dir = ::testing::TempDir() + "/sd_writer_test";
  std::filesystem::create_directories(dir);
  SdFileWriter writer(dir + "/pods.json", "127.0.0.1", "ns", "svc");
  EXPECT_TRUE(writer.Write({}));
  EXPECT_TRUE(writer.status().ok());
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(writer.Write({}));
  const absl::Status first = writer.status();
  EXPECT_EQ(first.message().rfind("--prometheus-sd-file: cannot write ", 0), 0u)
      << first;
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(writer.Write({}));
  EXPECT_EQ(writer.status(), first);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace knbench::local_serving
