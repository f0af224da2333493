// What an instance killed by SIGKILL left behind is removed at the next
// start, when empty; nothing else is touched. Liveness is read from the real
// /proc, so the instances are named after real (dead and live) children.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "child.h"
#include "fake_kernel.h"
#include "gtest/gtest.h"
#include "knbench/cgroups/manager.h"

namespace knbench::cgroups {
namespace {

using testing::FakeV1;
using testing::FakeV1Kernel;
using testing::StartTicks;
using testing::TempTree;
using testing::WaitExit;

// A pid and start time that named a process which has exited.
std::pair<pid_t, uint64_t> DeadProcess() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  // A zombie until reaped: its stat is still there to read.
  const uint64_t start = StartTicks(pid);
  EXPECT_TRUE(WaitExit(pid, absl::Seconds(30)).has_value());
  return {pid, start};
}

class LeftoversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.prefix = "knbench-test";
    options_.files = FakeV1(tree_, false, "/");
    options_.dirs = FakeV1Kernel(tree_);
    sleeper_ = fork();
    if (sleeper_ == 0) {
      pause();
      _exit(0);
    }
  }
  void TearDown() override { testing::KillAndReap(sleeper_); }

  // Makes <hierarchy>/<name>[/<child>] in each hierarchy, as the fake
  // kernel would.
  void MakeInstance(const std::string& name, const std::string& child = "") {
    for (const char* h : {"cpu", "cpuacct", "memory"}) {
      const std::string dir =
          tree_.Path(absl::StrCat("sys/fs/cgroup/", h, "/", name));
      ASSERT_EQ(options_.dirs.make(dir), 0) << dir;
      if (!child.empty()) ASSERT_EQ(options_.dirs.make(dir + "/" + child), 0);
    }
  }
  bool InstanceThere(const std::string& name) {
    return tree_.Exists("sys/fs/cgroup/cpu/" + name) &&
           tree_.Exists("sys/fs/cgroup/memory/" + name);
  }

  TempTree tree_;
  ManagerOptions options_;
  pid_t sleeper_ = 0;
};

TEST_F(LeftoversTest, DeadInstancesGoLiveOnesAndOthersStay) {
  const auto [dead_pid, dead_start] = DeadProcess();
  const std::string dead =
      absl::StrCat("knbench-test-", dead_pid, "-", dead_start);
  const std::string live =
      absl::StrCat("knbench-test-", sleeper_, "-", StartTicks(sleeper_));
  // The sleeper's pid with another start time: a reused pid.
  const std::string reused =
      absl::StrCat("knbench-test-", sleeper_, "-", StartTicks(sleeper_) + 1);
  MakeInstance(dead, "worker-a");
  MakeInstance(live, "worker-b");
  MakeInstance(reused);
  // Not ours, or not a name we make.
  for (const std::string& other :
       {absl::StrCat("knbench-other-", dead_pid, "-", dead_start),
        absl::StrCat("knbench-test-", dead_pid, "-", dead_start, "-1"),
        absl::StrCat("knbench-test--", dead_pid, "-", dead_start),
        std::string("knbench-test-x-1"), std::string("unrelated")}) {
    MakeInstance(other);
  }

  auto manager = Manager::Create(options_);
  ASSERT_EQ(manager->version(), Version::kV1) << manager->warning();
  EXPECT_EQ(manager->leftovers_removed(), 2 * 3);  // dead and reused, 3 each
  EXPECT_FALSE(InstanceThere(dead));
  EXPECT_FALSE(InstanceThere(reused));
  EXPECT_TRUE(InstanceThere(live));
  EXPECT_TRUE(tree_.Exists("sys/fs/cgroup/cpu/" + live + "/worker-b"));
  EXPECT_TRUE(
      InstanceThere(absl::StrCat("knbench-other-", dead_pid, "-", dead_start)));
  EXPECT_TRUE(InstanceThere(
      absl::StrCat("knbench-test-", dead_pid, "-", dead_start, "-1")));
  EXPECT_TRUE(
      InstanceThere(absl::StrCat("knbench-test--", dead_pid, "-", dead_start)));
  EXPECT_TRUE(InstanceThere("knbench-test-x-1"));
  EXPECT_TRUE(InstanceThere("unrelated"));
}

TEST_F(LeftoversTest, ADeadInstanceThatIsNotEmptyStays) {
  const auto [dead_pid, dead_start] = DeadProcess();
  const std::string dead =
      absl::StrCat("knbench-test-", dead_pid, "-", dead_start);
  // A pod with a cgroup of its own below it: not ours to remove.
  MakeInstance(dead, "worker-a");
  ASSERT_EQ(options_.dirs.make(
                tree_.Path("sys/fs/cgroup/cpu/" + dead + "/worker-a/nested")),
            0);
  auto manager = Manager::Create(options_);
  EXPECT_EQ(manager->leftovers_removed(), 2);  // cpuacct and memory
  EXPECT_TRUE(tree_.Exists("sys/fs/cgroup/cpu/" + dead + "/worker-a/nested"));
  EXPECT_FALSE(tree_.Exists("sys/fs/cgroup/memory/" + dead));
}

}  // namespace
}  // namespace knbench::cgroups
