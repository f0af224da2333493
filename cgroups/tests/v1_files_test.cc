// cgroup v1's files against a tree laid out like cgroupfs: separate and
// co-mounted cpu/cpuacct hierarchies, a process in a non-root cgroup, and
// kernels with and without memory.oom_control's oom_kill. real_test.cc runs
// the same against the kernel.
#include "absl/strings/str_cat.h"
#include "fake_kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/cgroups/manager.h"

namespace knbench::cgroups {
namespace {

using ::testing::ElementsAre;
using testing::FakeV1;
using testing::FakeV1Kernel;
using ::testing::StartsWith;
using testing::TempTree;

class V1FilesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Manager> Start(bool together) {
    ManagerOptions options;
    options.prefix = "knbench-test";
    options.files = FakeV1(tree_, together, "/process_api/abc");
    options.dirs = FakeV1Kernel(tree_);
    auto manager = Manager::Create(options);
    EXPECT_EQ(manager->version(), Version::kV1) << manager->warning();
    instance_ = manager->instance_dirs().at(0);
    instance_ = instance_.substr(instance_.rfind('/') + 1);
    return manager;
  }
  std::string Dir(const std::string& hierarchy, const std::string& pod) {
    return absl::StrCat("sys/fs/cgroup/", hierarchy, "/process_api/abc/",
                        instance_, "/", pod);
  }

  TempTree tree_;
  std::string instance_;  // its name
};

TEST_F(V1FilesTest, PodFilesHoldTheKubeletsNumbers) {
  auto manager = Start(false);
  Resources r;
  r.cpu_request_millicores = 250;
  r.cpu_limit_millicores = 200;
  r.memory_limit_bytes = 32 << 20;
  auto pod = manager->AddPod("worker-a", r);
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(tree_.Read(Dir("cpu", "worker-a") + "/cpu.shares"), "256");
  EXPECT_EQ(tree_.Read(Dir("cpu", "worker-a") + "/cpu.cfs_period_us"),
            "100000");
  EXPECT_EQ(tree_.Read(Dir("cpu", "worker-a") + "/cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(tree_.Read(Dir("memory", "worker-a") + "/memory.limit_in_bytes"),
            "33554432");
  EXPECT_THAT(
      (*pod)->procs_files(),
      ElementsAre(tree_.Path(Dir("cpu", "worker-a") + "/cgroup.procs"),
                  tree_.Path(Dir("cpuacct", "worker-a") + "/cgroup.procs"),
                  tree_.Path(Dir("memory", "worker-a") + "/cgroup.procs")));
  EXPECT_EQ((*pod)->id(),
            absl::StrCat("/process_api/abc/", instance_, "/worker-a"));
  auto spec = (*pod)->ReadSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->cpu_shares, 256);
  EXPECT_EQ(spec->cfs_quota_micros, 20000);
  EXPECT_EQ(spec->cfs_period_micros, 100000);
  EXPECT_EQ(spec->memory_limit_bytes, 32 << 20);
}

TEST_F(V1FilesTest, TheKernelsUnlimitedReadsAsNoLimit) {
  auto manager = Start(true);
  auto pod = manager->AddPod("worker-a", Resources());
  ASSERT_TRUE(pod.ok()) << pod.status();
  // cpu,cpuacct co-mounted: one directory for both.
  EXPECT_EQ((*pod)->procs_files().size(), 2u);
  auto spec = (*pod)->ReadSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->cpu_shares, 1024);
  EXPECT_FALSE(spec->cfs_quota_micros.has_value());    // -1
  EXPECT_FALSE(spec->memory_limit_bytes.has_value());  // 9223372036854771712
}

TEST_F(V1FilesTest, UsageAsCadvisorReadsIt) {
  auto manager = Start(true);
  auto pod = manager->AddPod("worker-a", Resources());
  ASSERT_TRUE(pod.ok()) << pod.status();
  const std::string cpu = Dir("cpu,cpuacct", "worker-a");
  const std::string memory = Dir("memory", "worker-a");
  tree_.Write(cpu + "/cpuacct.usage", "2500000000\n");
  tree_.Write(cpu + "/cpu.stat",
              "nr_periods 40\nnr_throttled 25\nthrottled_time 1750000000\n"
              "nr_bursts 0\nburst_time 0\n");
  tree_.Write(memory + "/memory.usage_in_bytes", "20971520\n");
  tree_.Write(memory + "/memory.stat",
              "cache 8388608\nrss 12582912\ninactive_file 1\n"
              "total_cache 8388608\ntotal_rss 12582912\n"
              "total_inactive_file 4194304\n");
  tree_.Write(memory + "/memory.oom_control",
              "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  tree_.Write(memory + "/memory.failcnt", "57\n");
  auto usage = (*pod)->ReadUsage();
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 2.5);
  EXPECT_EQ(usage->cfs_periods, 40u);
  EXPECT_EQ(usage->cfs_throttled_periods, 25u);
  EXPECT_DOUBLE_EQ(usage->cfs_throttled_seconds, 1.75);
  // usage − total_inactive_file (the hierarchy's, not the cgroup's own).
  EXPECT_DOUBLE_EQ(usage->memory_working_set_bytes, 16777216);
  EXPECT_EQ(usage->oom_kills, 3u);

  // A kernel before 4.13 has no oom_kill line: failcnt stands in.
  tree_.Write(memory + "/memory.oom_control",
              "oom_kill_disable 0\nunder_oom 0\n");
  EXPECT_EQ((*pod)->ReadUsage()->oom_kills, 57u);
  // Garbage where a number belongs is an error naming the file.
  tree_.Write(cpu + "/cpuacct.usage", "lots\n");
  EXPECT_THAT(std::string((*pod)->ReadUsage().status().message()),
              StartsWith(tree_.Path(cpu + "/cpuacct.usage")));
}

TEST_F(V1FilesTest, InstanceDirectoriesInEachHierarchyComeAndGo) {
  auto manager = Start(false);
  for (const char* h : {"cpu", "cpuacct", "memory"}) {
    EXPECT_TRUE(tree_.Exists(
        absl::StrCat("sys/fs/cgroup/", h, "/process_api/abc/", instance_)));
  }
  ASSERT_TRUE(manager->AddPod("worker-a", Resources()).ok());
  ASSERT_TRUE(manager->Close().ok());
  for (const char* h : {"cpu", "cpuacct", "memory"}) {
    EXPECT_FALSE(tree_.Exists(
        absl::StrCat("sys/fs/cgroup/", h, "/process_api/abc/", instance_)));
    // Our own cgroup stays as it was.
    EXPECT_TRUE(tree_.Exists(
        absl::StrCat("sys/fs/cgroup/", h, "/process_api/abc/cgroup.procs")));
  }
}

}  // namespace
}  // namespace knbench::cgroups
