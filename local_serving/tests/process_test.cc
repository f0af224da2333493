// A pod as a process group with real processes: a worker that a script
// started without exec is signalled and reaped with its pod, and is killed
// by the watchdog when local_serving goes. Each wait is bounded.
#include "knbench/local_serving/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "knbench/local_serving/pod_watchdog.h"
#include "knbench/testing/wait.h"

namespace knbench::local_serving {
namespace {

// The pid the script's child wrote to `path`, once written.
pid_t ChildPid(const std::string& path) {
  pid_t pid = 0;
  testing::WaitUntil(
      [&] {
        std::ifstream in(path);
        return in >> pid && pid > 0;
      },
      absl::Seconds(10), absl::Milliseconds(5));
  return pid > 0 ? pid : 0;
}

bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  return line.substr(line.rfind(") ") + 2, 1) != "Z";
}

// Polls `reap` until it reports an exit; nullopt after 10 s.
template <typename F>
std::optional<int> WaitReaped(F reap) {
  std::optional<int> exit;
  testing::WaitUntil([&] { return (exit = reap()).has_value(); },
                     absl::Seconds(10), absl::Milliseconds(5));
  return exit;
}

class WrappedProcessTest : public ::testing::Test {
 protected:
  // A shell that runs `sleep` without exec and writes the sleep's pid; the
  // shell exits 3 when its child has ended.
  pid_t SpawnWrapper(const std::string& child_trap) {
    std::remove(pid_file_.c_str());
    ProcessSpec spec;
    spec.path = "/bin/sh";
    spec.args = {"-c", "sh -c '" + child_trap + "echo $$ > " + pid_file_ +
                           "; exec sleep 60' & wait; exit 3"};
    spec.log_path = dir_ + "/log";
    absl::StatusOr<pid_t> pid = processes_.Spawn(spec);
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.value_or(0);
  }

  void TearDown() override {
    // Whatever a failed expectation left.
    if (child_ > 0) kill(child_, SIGKILL);
  }

  std::string dir_ = ::testing::TempDir();
  // One per test: a file left by the one before must not be read.
  std::string pid_file_ =
      dir_ + "/child.pid." +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  RealProcesses processes_;
  pid_t child_ = 0;
};

TEST_F(WrappedProcessTest, SigtermReachesTheWholeGroupAndReapWaitsForIt) {
  const pid_t leader = SpawnWrapper("");
  child_ = ChildPid(pid_file_);
  ASSERT_GT(child_, 0);
  EXPECT_EQ(getpgid(child_), leader);
  EXPECT_FALSE(processes_.Reap(leader).has_value());
  processes_.Signal(leader, SIGTERM);
  const std::optional<int> exit =
      WaitReaped([&] { return processes_.Reap(leader); });
  ASSERT_TRUE(exit.has_value());
  EXPECT_FALSE(Alive(child_));
}

TEST_F(WrappedProcessTest, AGroupBeingStoppedDrainsAfterItsLeaderExits) {
  // The child takes its time on SIGTERM; its pod is not gone until it ends,
  // and SIGKILL (the grace's end) reaches it after its leader has gone.
  const pid_t leader = SpawnWrapper("trap \"\" TERM; ");
  child_ = ChildPid(pid_file_);
  ASSERT_GT(child_, 0);
  processes_.Signal(leader, SIGTERM);
  // While the leader lives (the child ignores SIGTERM), the pod is not gone.
  testing::WaitUntil(
      [&] {
        EXPECT_FALSE(processes_.Reap(leader).has_value());
        return !Alive(leader);
      },
      absl::Seconds(10), absl::Milliseconds(5));
  EXPECT_FALSE(processes_.Reap(leader).has_value());
  EXPECT_TRUE(Alive(child_));
  processes_.Signal(leader, SIGKILL);
  EXPECT_TRUE(WaitReaped([&] { return processes_.Reap(leader); }));
  EXPECT_FALSE(Alive(child_));
}

TEST_F(WrappedProcessTest, ALeaderThatDiesOnItsOwnTakesItsGroupAlong) {
  const pid_t leader = SpawnWrapper("");
  child_ = ChildPid(pid_file_);
  ASSERT_GT(child_, 0);
  kill(leader, SIGKILL);  // the pod's main process crashes
  const std::optional<int> exit =
      WaitReaped([&] { return processes_.Reap(leader); });
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFSIGNALED(*exit) && WTERMSIG(*exit) == SIGKILL);
  EXPECT_FALSE(Alive(child_));
}

TEST_F(WrappedProcessTest, ALeadersExitIsToldWithoutPolling) {
  absl::Notification told;
  processes_.SetExitListener([&] {
    if (!told.HasBeenNotified()) told.Notify();
  });
  const pid_t leader = SpawnWrapper("");
  child_ = ChildPid(pid_file_);
  ASSERT_GT(child_, 0);
  EXPECT_TRUE(processes_.TellsExit(leader));
  EXPECT_FALSE(told.HasBeenNotified());
  kill(leader, SIGKILL);
  ASSERT_TRUE(told.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Told once: the rest of its group is polled for until Reap has it.
  EXPECT_FALSE(processes_.TellsExit(leader));
  EXPECT_TRUE(WaitReaped([&] { return processes_.Reap(leader); }));
  processes_.SetExitListener(nullptr);
}

// A child in a group of its own that waits for a signal.
pid_t Idle() {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    close_range(3, ~0U, 0);  // as a pod's exec would
    pause();
    _exit(0);
  }
  setpgid(pid, pid);
  return pid;
}

TEST(PodWatchdog, KillsTheGroupsStillListedWhenItsOwnerGoes) {
  absl::StatusOr<std::unique_ptr<PodWatchdog>> watchdog = PodWatchdog::Start();
  ASSERT_TRUE(watchdog.ok()) << watchdog.status();
  const pid_t listed = Idle();
  const pid_t forgotten = Idle();
  (*watchdog)->Watch(listed);
  (*watchdog)->Watch(forgotten);
  (*watchdog)->Forget(forgotten);
  watchdog->reset();  // closes its socket, as local_serving's death does
  int status = 0;
  ASSERT_EQ(waitpid(listed, &status, 0), listed);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(waitpid(forgotten, &status, WNOHANG), 0);  // still running
  kill(forgotten, SIGKILL);
  EXPECT_EQ(waitpid(forgotten, &status, 0), forgotten);
}

}  // namespace
}  // namespace knbench::local_serving
