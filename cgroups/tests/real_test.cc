// The kernel's own cgroups, as root (CI runs as root on a machine with
// writable cgroup v1; a machine that delegates v2 runs the same tests on
// v2). There is no skip: without usable cgroups these tests fail and say
// why.
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "child.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/cgroups/join.h"
#include "knbench/cgroups/layout.h"
#include "knbench/cgroups/manager.h"
#include "knbench/testing/wait.h"

namespace knbench::cgroups {
namespace {

namespace fs = std::filesystem;
using knbench::testing::WaitUntil;
using ::testing::HasSubstr;
using testing::KillAndReap;
using testing::StartTicks;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Trimmed(const std::string& path) {
  std::string text = Slurp(path);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// The directory holding procs_files()[i].
std::string DirOf(const PodCgroup& pod, size_t i) {
  return fs::path(pod.procs_files().at(i)).parent_path();
}

class RealCgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ManagerOptions options;
    options.prefix = "knbench-cgroups-test";
    manager_ = Manager::Create(options);
    ASSERT_NE(manager_->version(), Version::kNone)
        << "needs writable cgroups (v1 cpu, cpuacct, memory or a delegated "
           "v2 subtree), as root: "
        << manager_->warning();
  }
  void TearDown() override {
    for (const pid_t pid : children_) KillAndReap(pid);
    const std::vector<std::string> dirs = manager_->instance_dirs();
    EXPECT_TRUE(manager_->Close().ok());
    for (const std::string& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  }
  std::shared_ptr<PodCgroup> Pod(const std::string& name, const Resources& r) {
    auto pod = manager_->AddPod(name, r);
    EXPECT_TRUE(pod.ok()) << pod.status();
    return pod.ok() ? *pod : nullptr;
  }
  Usage Read(const PodCgroup& pod) {
    auto usage = pod.ReadUsage();
    EXPECT_TRUE(usage.ok()) << usage.status();
    return usage.value_or(Usage());
  }

  std::unique_ptr<Manager> manager_;
  std::vector<pid_t> children_;
};

TEST_F(RealCgroupsTest, TheKernelsFilesHoldTheKubeletsNumbers) {
  Resources r;
  r.cpu_request_millicores = 250;
  r.cpu_limit_millicores = 200;
  r.memory_limit_bytes = 64 << 20;
  auto pod = Pod("worker-files", r);
  ASSERT_NE(pod, nullptr);
  const std::string cpu = DirOf(*pod, 0);
  const std::string memory = DirOf(*pod, pod->procs_files().size() - 1);
  if (manager_->version() == Version::kV1) {
    EXPECT_EQ(Trimmed(cpu + "/cpu.shares"), "256");
    EXPECT_EQ(Trimmed(cpu + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(Trimmed(cpu + "/cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(Trimmed(memory + "/memory.limit_in_bytes"), "67108864");
  } else {
    EXPECT_EQ(Trimmed(cpu + "/cpu.weight"), "10");  // 1 + 254 × 9999 / 262142
    EXPECT_EQ(Trimmed(cpu + "/cpu.max"), "20000 100000");
    EXPECT_EQ(Trimmed(memory + "/memory.max"), "67108864");
  }
  auto spec = pod->ReadSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->cfs_quota_micros, 20000);
  EXPECT_EQ(spec->memory_limit_bytes, 64 << 20);
  ASSERT_TRUE(pod->Remove().ok());
  for (const std::string& file : pod->procs_files()) {
    EXPECT_FALSE(fs::exists(fs::path(file).parent_path())) << file;
  }
}

TEST_F(RealCgroupsTest, ABusyChildAt200mUsesAFifthOfACpuAndIsThrottled) {
  Resources r;
  r.cpu_limit_millicores = 200;
  auto pod = Pod("worker-busy", r);
  ASSERT_NE(pod, nullptr);
  const pid_t pid = testing::SpinInPod(*pod);
  ASSERT_GT(pid, 0);
  children_.push_back(pid);
  // Its CPU time is counted in the pod: it joined before exec.
  ASSERT_TRUE(WaitUntil([&] { return Read(*pod).cpu_seconds > 0.02; }));
  EXPECT_THAT(Slurp(absl::StrCat("/proc/", pid, "/cgroup")),
              HasSubstr(pod->id() + "\n"));

  const Usage before = Read(*pod);
  const absl::Time start = absl::Now();
  // A window of at least 2 s with throttling seen in it.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return absl::Now() - start >= absl::Seconds(2) &&
               Read(*pod).cfs_throttled_periods >=
                   before.cfs_throttled_periods + 5;
      },
      absl::Seconds(60)));
  const Usage after = Read(*pod);
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = (after.cpu_seconds - before.cpu_seconds) / wall;
  // At most the quota (20 ms per 100 ms, a period of slack at the window's
  // ends); at least half of it on a machine busy with other work.
  EXPECT_LE(rate, 0.2 + 0.02 / wall + 0.01) << wall << " s";
  EXPECT_GE(rate, 0.1) << wall << " s";
  EXPECT_GE(after.cfs_periods - before.cfs_periods, 10u);
  EXPECT_GT(after.cfs_throttled_seconds, before.cfs_throttled_seconds);
}

TEST_F(RealCgroupsTest, AChildPastItsMemoryLimitIsOomKilledAndCounted) {
  Resources r;
  r.memory_limit_bytes = 32 << 20;
  auto pod = Pod("worker-oom", r);
  ASSERT_NE(pod, nullptr);
  const pid_t pid = testing::ForkInPod(*pod, [] {
    const size_t size = size_t{256} << 20;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(2);
    char* bytes = static_cast<char*>(p);
    for (size_t i = 0; i < size; i += 4096) bytes[i] = 1;
    _exit(3);  // survived: no limit
  });
  ASSERT_GT(pid, 0);
  const std::optional<int> status = testing::WaitExit(pid, absl::Seconds(60));
  if (!status) children_.push_back(pid);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFSIGNALED(*status)) << "exit status " << WEXITSTATUS(*status);
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_EQ(Read(*pod).oom_kills, 1u);
  EXPECT_TRUE(pod->Remove().ok());
}

TEST_F(RealCgroupsTest, CloseRemovesPodsNobodyRemoved) {
  auto pod = Pod("worker-left", Resources());
  ASSERT_NE(pod, nullptr);
  const pid_t pid = testing::SpinInPod(*pod);
  ASSERT_GT(pid, 0);
  KillAndReap(pid);
  // TearDown's Close removes it and the instance, and checks.
}

// What an instance killed by SIGKILL left behind, in the kernel's
// hierarchies: removed at the next start when empty, nothing else.
class RealLeftoversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    own_ = DetectLayout().own.Distinct();
    ASSERT_FALSE(own_.empty() || own_[0].empty())
        << "needs writable cgroups as root: " << DetectLayout().reason;
    sleeper_ = fork();
    if (sleeper_ == 0) {
      pause();
      _exit(0);
    }
  }
  void TearDown() override {
    KillAndReap(sleeper_);
    if (busy_ > 0) KillAndReap(busy_);
    // What the test made and the manager rightly left.
    for (const std::string& dir : made_) {
      EXPECT_TRUE(
          WaitUntil([&] { return rmdir(dir.c_str()) == 0 || errno == ENOENT; },
                    absl::Seconds(10)))
          << dir;
    }
  }
  void Make(const std::string& name, const std::string& child = "") {
    for (const std::string& own : own_) {
      const std::string dir = own + "/" + name;
      ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
      if (!child.empty()) {
        ASSERT_EQ(mkdir((dir + "/" + child).c_str(), 0755), 0);
        made_.insert(made_.begin(), dir + "/" + child);
      }
      made_.push_back(dir);
    }
  }
  bool There(const std::string& name) {
    for (const std::string& own : own_) {
      if (!fs::exists(own + "/" + name)) return false;
    }
    return true;
  }

  std::vector<std::string> own_;
  std::vector<std::string> made_;  // children first
  pid_t sleeper_ = 0;
  pid_t busy_ = 0;
};

TEST_F(RealLeftoversTest, DeadInstancesGoLiveAndBusyOnesStay) {
  const std::string prefix = "knbench-cgroups-leftover";
  const pid_t dead_pid = fork();
  if (dead_pid == 0) _exit(0);
  const uint64_t dead_start = StartTicks(dead_pid);
  ASSERT_TRUE(testing::WaitExit(dead_pid, absl::Seconds(30)).has_value());
  const std::string dead = absl::StrCat(prefix, "-", dead_pid, "-", dead_start);
  const std::string busy =
      absl::StrCat(prefix, "-", dead_pid, "-", dead_start + 1);
  const std::string live =
      absl::StrCat(prefix, "-", sleeper_, "-", StartTicks(sleeper_));
  const std::string reused =
      absl::StrCat(prefix, "-", sleeper_, "-", StartTicks(sleeper_) + 1);
  Make(dead, "worker-a");
  Make(busy, "worker-b");
  Make(live, "worker-c");
  Make(reused);
  // A process still in a dead instance's pod: that pod and instance stay.
  std::vector<std::string> procs;
  for (const std::string& own : own_) {
    procs.push_back(own + "/" + busy + "/worker-b/cgroup.procs");
  }
  absl::StatusOr<CgroupJoin> join = CgroupJoin::Open(procs);
  ASSERT_TRUE(join.ok()) << join.status();
  busy_ = fork();
  if (busy_ == 0) {
    if (join->JoinSelf() != 0) _exit(126);
    pause();
    _exit(0);
  }
  // In every hierarchy: it joins them one after the other.
  ASSERT_TRUE(WaitUntil([&] {
    for (const std::string& file : procs) {
      const std::string line = absl::StrCat("\n", busy_, "\n");
      if (("\n" + Slurp(file)).find(line) == std::string::npos) {
        return false;
      }
    }
    return true;
  }));

  ManagerOptions options;
  options.prefix = prefix;
  auto manager = Manager::Create(options);
  ASSERT_NE(manager->version(), Version::kNone) << manager->warning();
  EXPECT_EQ(manager->leftovers_removed(), 2 * static_cast<int>(own_.size()));
  EXPECT_FALSE(There(dead));
  EXPECT_FALSE(There(reused));
  EXPECT_TRUE(There(live + "/worker-c"));
  EXPECT_TRUE(There(busy + "/worker-b"));
  EXPECT_TRUE(manager->Close().ok());
}

}  // namespace
}  // namespace knbench::cgroups
