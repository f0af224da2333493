// Where no cgroup can be used, or they are turned off: pods run unlimited,
// the same calls work, and usage comes from /proc/<pid>.
#include "child.h"
#include "fake_kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/cgroups/manager.h"
#include "knbench/testing/wait.h"

namespace knbench::cgroups {
namespace {

using knbench::testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Fallback, TurnedOffMeansNoCgroupsAndNoWarning) {
  ManagerOptions options;
  options.enabled = false;
  auto manager = Manager::Create(options);
  EXPECT_EQ(manager->version(), Version::kNone);
  EXPECT_EQ(manager->warning(), "");
  EXPECT_TRUE(manager->instance_dirs().empty());
}

TEST(Fallback, NothingUsableIsOneWarningLine) {
  testing::TempTree tree;
  tree.Write("cgroup", "0::/\n");
  tree.Write("mountinfo", "25 1 0:22 / / rw - ext4 /dev/vda rw\n");
  ManagerOptions options;
  options.files = {tree.Path("cgroup"), tree.Path("mountinfo")};
  auto manager = Manager::Create(options);
  EXPECT_EQ(manager->version(), Version::kNone);
  EXPECT_EQ(manager->warning(),
            "pods run without CPU or memory limits (usage from /proc): "
            "cgroup v1: no cpu hierarchy; cgroup v2: not mounted");
}

TEST(Fallback, UsageOfTheTrackedProcessFromProc) {
  ManagerOptions options;
  options.enabled = false;
  auto manager = Manager::Create(options);
  Resources r;
  r.cpu_limit_millicores = 100;  // not enforced here
  auto pod = manager->AddPod("worker-a", r);
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_TRUE((*pod)->procs_files().empty());
  EXPECT_EQ((*pod)->id(), "worker-a");
  EXPECT_THAT(std::string((*pod)->ReadUsage().status().message()),
              HasSubstr("no process tracked"));

  const pid_t pid = testing::SpinInPod(**pod);
  ASSERT_GT(pid, 0);
  (*pod)->Track(pid);
  // Spinning, it gains CPU time; it is resident.
  double cpu = 0;
  EXPECT_TRUE(WaitUntil([&] {
    auto usage = (*pod)->ReadUsage();
    cpu = usage.ok() ? usage->cpu_seconds : 0;
    return cpu >= 0.05;
  })) << cpu;
  auto usage = (*pod)->ReadUsage();
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_GT(usage->memory_working_set_bytes, 0);
  EXPECT_EQ(usage->cfs_periods, 0u);
  EXPECT_EQ(usage->oom_kills, 0u);
  auto spec = (*pod)->ReadSpec();
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->cpu_shares || spec->cfs_quota_micros ||
               spec->memory_limit_bytes);

  testing::KillAndReap(pid);
  EXPECT_THAT(std::string((*pod)->ReadUsage().status().message()),
              StartsWith("process "));
  EXPECT_TRUE((*pod)->Remove().ok());
}

}  // namespace
}  // namespace knbench::cgroups
