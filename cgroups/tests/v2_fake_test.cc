// cgroup v2 against a tree laid out like cgroupfs (no machine here
// delegates cpu and memory to us): the files the library writes and the
// counters it reads, as the kernel lays them out.
#include <errno.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "fake_kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/cgroups/manager.h"

namespace knbench::cgroups {
namespace {

using ::testing::ElementsAre;
using testing::FakeV2;
using testing::FakeV2Kernel;
using ::testing::HasSubstr;
using testing::TempTree;

class V2FakeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Manager> Start(const std::string& subtree_control) {
    ManagerOptions options;
    options.prefix = "knbench-test";
    options.files =
        FakeV2(tree_, "/user.slice/t.scope", "cpuset cpu io memory");
    options.dirs = FakeV2Kernel();
    tree_.Write(kOwn + "/cgroup.subtree_control", subtree_control);
    auto manager = Manager::Create(options);
    EXPECT_EQ(manager->version(), Version::kV2) << manager->warning();
    EXPECT_EQ(manager->warning(), "");
    EXPECT_EQ(manager->instance_dirs().size(), 1u);
    instance_ = manager->instance_dirs().at(0).substr(tree_.root().size() + 1);
    return manager;
  }

  static Resources Limited() {
    Resources r;
    r.cpu_request_millicores = 500;
    r.cpu_limit_millicores = 200;
    r.memory_limit_bytes = 64 << 20;
    return r;
  }

  const std::string kOwn = "sys/fs/cgroup/user.slice/t.scope";
  TempTree tree_;
  std::string instance_;  // relative to the tree
};

TEST_F(V2FakeTest, MovesItselfIntoALeafToHandCpuAndMemoryToPods) {
  auto manager = Start("\n");
  EXPECT_EQ(instance_,
            absl::StrCat(kOwn, "/knbench-test-", getpid(), "-",
                         instance_.substr(instance_.rfind('-') + 1)));
  EXPECT_EQ(tree_.Read(instance_ + "/supervisor/cgroup.procs"),
            absl::StrCat(getpid()));
  EXPECT_EQ(tree_.Read(kOwn + "/cgroup.subtree_control"), "+cpu +memory");
  EXPECT_EQ(tree_.Read(instance_ + "/cgroup.subtree_control"), "+cpu +memory");

  ASSERT_TRUE(manager->Close().ok());
  // Controllers handed back and this process back where it was.
  EXPECT_EQ(tree_.Read(kOwn + "/cgroup.subtree_control"), "-cpu -memory");
  EXPECT_EQ(tree_.Read(kOwn + "/cgroup.procs"), absl::StrCat(getpid()));
  EXPECT_FALSE(tree_.Exists(instance_));
}

TEST_F(V2FakeTest, StaysPutWhereItsCgroupAlreadyEnablesThem) {
  auto manager = Start("cpu memory\n");
  EXPECT_FALSE(tree_.Exists(instance_ + "/supervisor"));
  EXPECT_EQ(tree_.Read(kOwn + "/cgroup.subtree_control"), "cpu memory\n");
  EXPECT_EQ(tree_.Read(instance_ + "/cgroup.subtree_control"), "+cpu +memory");
  ASSERT_TRUE(manager->Close().ok());
  EXPECT_EQ(tree_.Read(kOwn + "/cgroup.subtree_control"), "cpu memory\n");
  EXPECT_FALSE(tree_.Exists(instance_));
}

TEST_F(V2FakeTest, PodFilesHoldTheKubeletsNumbers) {
  auto manager = Start("\n");
  auto pod = manager->AddPod("worker-a", Limited());
  ASSERT_TRUE(pod.ok()) << pod.status();
  const std::string dir = instance_ + "/worker-a";
  EXPECT_EQ(tree_.Read(dir + "/cpu.weight"), "20");  // 512 shares
  EXPECT_EQ(tree_.Read(dir + "/cpu.max"), "20000 100000");
  EXPECT_EQ(tree_.Read(dir + "/memory.max"), "67108864");
  EXPECT_THAT((*pod)->procs_files(),
              ElementsAre(tree_.Path(dir + "/cgroup.procs")));
  EXPECT_EQ((*pod)->id(), "/user.slice/t.scope/" +
                              instance_.substr(kOwn.size() + 1) + "/worker-a");

  auto spec = (*pod)->ReadSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->cpu_shares, CpuSharesFromWeight(20));
  EXPECT_EQ(spec->cfs_quota_micros, 20000);
  EXPECT_EQ(spec->cfs_period_micros, 100000);
  EXPECT_EQ(spec->memory_limit_bytes, 64 << 20);
}

TEST_F(V2FakeTest, APodWithoutResourcesKeepsTheDefaults) {
  auto manager = Start("\n");
  auto pod = manager->AddPod("worker-b", Resources());
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(tree_.Read(instance_ + "/worker-b/cpu.max"), "max 100000\n");
  auto spec = (*pod)->ReadSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->cpu_shares, CpuSharesFromWeight(100));
  EXPECT_FALSE(spec->cfs_quota_micros.has_value());
  EXPECT_FALSE(spec->memory_limit_bytes.has_value());
}

TEST_F(V2FakeTest, UsageFromCpuStatMemoryCurrentStatAndEvents) {
  auto manager = Start("\n");
  auto pod = manager->AddPod("worker-a", Limited());
  ASSERT_TRUE(pod.ok()) << pod.status();
  const std::string dir = instance_ + "/worker-a";
  tree_.Write(dir + "/cpu.stat",
              "usage_usec 1500000\nuser_usec 1400000\nsystem_usec 100000\n"
              "nr_periods 30\nnr_throttled 12\nthrottled_usec 2400000\n"
              "nr_bursts 0\nburst_usec 0\n");
  tree_.Write(dir + "/memory.current", "10485760\n");
  tree_.Write(dir + "/memory.stat",
              "anon 6291456\nfile 4194304\nactive_file 0\n"
              "inactive_file 4194304\n");
  tree_.Write(dir + "/memory.events",
              "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n");
  auto usage = (*pod)->ReadUsage();
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 1.5);
  EXPECT_EQ(usage->cfs_periods, 30u);
  EXPECT_EQ(usage->cfs_throttled_periods, 12u);
  EXPECT_DOUBLE_EQ(usage->cfs_throttled_seconds, 2.4);
  EXPECT_DOUBLE_EQ(usage->memory_working_set_bytes, 6291456);
  EXPECT_EQ(usage->oom_kills, 2u);

  // More inactive cache than usage (racy reads): never below 0.
  tree_.Write(dir + "/memory.current", "1000\n");
  EXPECT_DOUBLE_EQ((*pod)->ReadUsage()->memory_working_set_bytes, 0);
  // A file that lost a field is an error, not a zero.
  tree_.Write(dir + "/memory.events", "low 0\n");
  EXPECT_THAT(std::string((*pod)->ReadUsage().status().message()),
              HasSubstr("memory.events has no oom_kill"));
}

TEST_F(V2FakeTest, RemoveAndCloseTakeEveryDirectory) {
  auto manager = Start("\n");
  auto a = manager->AddPod("worker-a", Limited());
  auto b = manager->AddPod("worker-b", Limited());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(manager->AddPod("worker-a", Limited()).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(manager->AddPod("../x", Limited()).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*a)->Remove().ok());
  EXPECT_FALSE(tree_.Exists(instance_ + "/worker-a"));
  EXPECT_TRUE((*a)->Remove().ok());  // idempotent
  // Close removes worker-b, which was never removed, then the instance.
  ASSERT_TRUE(manager->Close().ok());
  EXPECT_FALSE(tree_.Exists(instance_));
  EXPECT_EQ(manager->AddPod("late", Limited()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(V2FakeTest, AFileTheKernelRefusesLeavesNoPodBehind) {
  ManagerOptions options;
  options.prefix = "knbench-test";
  options.files = FakeV2(tree_, "/user.slice/t.scope", "cpu memory");
  tree_.Write(kOwn + "/cgroup.subtree_control", "cpu memory\n");
  // A kernel without cpu.max (its cpu controller is off) refuses the write.
  options.dirs = testing::FakeKernel([](const std::string&) {
    testing::Files files = testing::V2Files();
    files.erase("cpu.max");
    return files;
  });
  auto manager = Manager::Create(options);
  ASSERT_EQ(manager->version(), Version::kV2) << manager->warning();
  auto pod = manager->AddPod("worker-c", Limited());
  EXPECT_THAT(std::string(pod.status().message()), HasSubstr("cpu.max"));
  EXPECT_FALSE(
      std::filesystem::exists(manager->instance_dirs().at(0) + "/worker-c"));
  // The name is free again.
  EXPECT_TRUE(manager->AddPod("worker-c", Resources()).ok());
}

TEST_F(V2FakeTest, ARefusedDirectoryFallsBackWithOneWarning) {
  ManagerOptions options;
  options.prefix = "knbench-test";
  options.files = FakeV2(tree_, "/user.slice/t.scope", "cpu memory");
  options.dirs = FakeV2Kernel();
  options.dirs.make = [](const std::string&) { return EACCES; };
  auto manager = Manager::Create(options);
  EXPECT_EQ(manager->version(), Version::kNone);
  EXPECT_THAT(manager->warning(),
              ::testing::MatchesRegex("pods run without CPU or memory limits "
                                      "\\(usage from /proc\\): cgroup v2: "
                                      "cannot create .*: Permission denied"));
  EXPECT_TRUE(manager->AddPod("worker-a", Limited()).ok());
}

TEST_F(V2FakeTest, ControllersThatCannotBeEnabledFallBackAndMoveBack) {
  ManagerOptions options;
  options.prefix = "knbench-test";
  options.files = FakeV2(tree_, "/user.slice/t.scope", "cpu memory");
  options.dirs = FakeV2Kernel();
  // The kernel refuses +cpu +memory (here: no such file to write).
  std::filesystem::remove(tree_.Path(kOwn + "/cgroup.subtree_control"));
  auto manager = Manager::Create(options);
  EXPECT_EQ(manager->version(), Version::kNone);
  EXPECT_THAT(manager->warning(), HasSubstr("holds other processes"));
  EXPECT_EQ(tree_.Read(kOwn + "/cgroup.procs"), absl::StrCat(getpid()));
  // Nothing of the instance is left.
  for (const auto& entry :
       std::filesystem::directory_iterator(tree_.Path(kOwn))) {
    EXPECT_FALSE(entry.is_directory()) << entry.path();
  }
}

}  // namespace
}  // namespace knbench::cgroups
