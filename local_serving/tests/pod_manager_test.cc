// PodManager's timing on a fake clock, with its processes and readiness
// checks faked at their boundary: nothing sleeps, nothing is started.
#include "knbench/local_serving/pod_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "fake_world.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/testing/fake_clock.h"
#include "knbench/testing/wait.h"

namespace knbench::local_serving {
namespace {

using ::knbench::local_serving::testing::FakeProcesses;
using ::knbench::local_serving::testing::FakeReadiness;
using ::knbench::testing::FakeClock;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Cgroups that exist only here: every call is recorded, and the test says
// when a pod's cgroup counts an OOM kill or cannot be made.
class FakeCgroups : public PodCgroups {
 public:
  absl::Status Add(const std::string& pod) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("add " + pod);
    if (failing_) return absl::PermissionDeniedError("no cgroups today");
    return absl::OkStatus();
  }
  std::vector<std::string> ProcsFiles(const std::string& pod) override {
    return {"/cg/cpu/" + pod + "/cgroup.procs",
            "/cg/memory/" + pod + "/cgroup.procs"};
  }
  void Track(const std::string& pod, pid_t pid) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("track " + pod + " " + std::to_string(pid));
  }
  uint64_t OomKills(const std::string& pod) override {
    absl::MutexLock lock(&mu_);
    return oom_kills_[pod];
  }
  void Remove(const std::string& pod) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("remove " + pod);
  }

  void OomKill(const std::string& pod) {
    absl::MutexLock lock(&mu_);
    ++oom_kills_[pod];
  }
  void Fail(bool failing) {
    absl::MutexLock lock(&mu_);
    failing_ = failing;
  }
  std::vector<std::string> TakeCalls() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    out.swap(calls_);
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls_;
  std::map<std::string, uint64_t> oom_kills_;
  bool failing_ = false;
};

class PodManagerTest : public ::testing::Test {
 protected:
  static constexpr absl::Duration kStartDelay = absl::Seconds(2);
  static constexpr absl::Duration kGrace = absl::Seconds(30);
  // The manager looks at its processes this often while any runs.
  static constexpr absl::Duration kReap = absl::Milliseconds(10);
  static constexpr absl::Duration kProbe = absl::Milliseconds(25);

  PodManagerTest() {
    PodManager::Options options;
    options.worker_path = "/fake/worker";
    options.worker_args = {"--spin-clock=cpu"};
    options.log_dir = "/fake/logs";
    options.start_delay = kStartDelay;
    options.termination_grace = kGrace;
    PodManager::Listener listener;
    listener.ready = [this](const std::string& name,
                            const std::string& address) {
      absl::MutexLock lock(&mu_);
      EXPECT_FALSE(address.empty());
      events_.push_back("ready " + name);
    };
    listener.gone = [this](const std::string& name) {
      absl::MutexLock lock(&mu_);
      events_.push_back("gone " + name);
    };
    manager_ = std::make_unique<PodManager>(
        options, listener,
        PodManager::World{&clock_, &processes_, &readiness_, &cgroups_});
    manager_->Start();
  }

  ~PodManagerTest() override {
    processes_.ExitOnSigterm();
    manager_->Stop(absl::ZeroDuration());
  }

  // Moves time on, then waits until the manager has acted on it.
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    ASSERT_TRUE(clock_.Settle(1));
  }
  void ScaleTo(int32_t n) {
    manager_->ScaleTo(n);
    ASSERT_TRUE(clock_.Settle(1));
  }

  std::vector<PodStatus> Pods() { return manager_->pods(); }
  PodStatus Pod(size_t i) { return Pods().at(i); }
  std::vector<std::string> TakeEvents() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    out.swap(events_);
    return out;
  }
  // Starts `n` pods and makes them ready, oldest first.
  void ReadyPods(int32_t n) {
    ScaleTo(n);
    Advance(kStartDelay);
    for (const PodStatus& p : Pods()) readiness_.SetServing(p.name);
    Advance(kProbe);
    ASSERT_EQ(manager_->counts().ready, n);
    TakeEvents();
  }

  FakeClock clock_;
  FakeProcesses processes_;
  FakeReadiness readiness_;
  FakeCgroups cgroups_;
  std::unique_ptr<PodManager> manager_;
  absl::Mutex mu_;
  std::vector<std::string> events_;
};

TEST_F(PodManagerTest, APodStartsAfterTheDelayAndIsReadyWhenItsCheckIs) {
  // Listed at once, pending, before the manager's thread has run.
  manager_->ScaleTo(1);
  ASSERT_EQ(manager_->pods().size(), 1u);
  EXPECT_EQ(Pod(0).phase, PodPhase::kPending);
  ASSERT_TRUE(clock_.Settle(1));
  EXPECT_EQ(manager_->counts().pending, 1);
  Advance(kStartDelay - absl::Milliseconds(1));
  EXPECT_EQ(processes_.spawned(), 0);
  Advance(absl::Milliseconds(1));
  ASSERT_EQ(processes_.spawned(), 1);
  const PodStatus pod = Pod(0);
  EXPECT_EQ(pod.phase, PodPhase::kStarting);
  const ProcessSpec spec = processes_.spec(pod.pid);
  EXPECT_EQ(spec.path, "/fake/worker");
  EXPECT_THAT(spec.args, Contains("--bind=127.0.0.1"));
  EXPECT_THAT(spec.args, Contains("--shutdown-grace=30s"));
  EXPECT_EQ(spec.args.back(), "--spin-clock=cpu");  // ours first, theirs win
  EXPECT_EQ(spec.env.at("POD_NAME"), pod.name);
  EXPECT_EQ(spec.log_path, "/fake/logs/" + pod.name + ".log");
  const PodCounts starting = manager_->counts();
  EXPECT_EQ(starting.pending, 0);
  EXPECT_EQ(starting.not_ready, 1);
  // Not ready until its check says SERVING; checked every 25 ms.
  Advance(kProbe);
  EXPECT_EQ(Pod(0).phase, PodPhase::kStarting);
  readiness_.SetServing(pod.name);
  Advance(kProbe - absl::Milliseconds(1));
  EXPECT_EQ(Pod(0).phase, PodPhase::kStarting);
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(Pod(0).phase, PodPhase::kReady);
  EXPECT_THAT(TakeEvents(), ElementsAre("ready " + pod.name));
  EXPECT_EQ(manager_->counts().ready, 1);
}

// The kubelet restarts a container that died at once, then after 10 s,
// 20 s, 40 s ... up to 5 minutes, and forgets after 10 minutes of running.
TEST_F(PodManagerTest, RestartsBackOffAsTheKubeletDoes) {
  ReadyPods(1);
  const std::string name = Pod(0).name;
  processes_.Exit(Pod(0).pid, 1);
  Advance(kReap);
  // Out of the routing set, restarted at once (the first restart), and
  // back once its check answers.
  EXPECT_THAT(TakeEvents(), ElementsAre("gone " + name, "ready " + name));
  EXPECT_EQ(processes_.spawned(), 2);
  EXPECT_EQ(Pod(0).restarts, 1);
  EXPECT_EQ(manager_->counts().restarts, 1);
  EXPECT_EQ(manager_->counts().pending, 0);  // not a new pod
  int spawned = 2;
  for (absl::Duration backoff :
       {absl::Seconds(10), absl::Seconds(20), absl::Seconds(40),
        absl::Seconds(80), absl::Seconds(160), absl::Minutes(5),
        absl::Minutes(5)}) {
    processes_.Exit(Pod(0).pid, 1);
    Advance(kReap);
    EXPECT_EQ(Pod(0).phase, PodPhase::kPending);
    Advance(backoff - absl::Milliseconds(1));
    EXPECT_EQ(processes_.spawned(), spawned) << backoff;
    Advance(absl::Milliseconds(1));
    EXPECT_EQ(processes_.spawned(), ++spawned) << backoff;
  }
  EXPECT_EQ(Pod(0).restarts, 8);
  // Ten minutes of running: the next restart is at once again.
  Advance(absl::Minutes(10));
  processes_.Exit(Pod(0).pid, 1);
  Advance(kReap);
  EXPECT_EQ(processes_.spawned(), spawned + 1);
}

// Scale-down takes pods that are not ready first (pending, then starting),
// newest first, then the newest ready pod, which leaves the routing set
// before its SIGTERM.
TEST_F(PodManagerTest, ScaleDownTakesNotReadyPodsFirstNewestFirst) {
  ReadyPods(2);
  const std::string oldest_ready = Pod(0).name;
  const std::string newest_ready = Pod(1).name;
  ScaleTo(3);
  Advance(kStartDelay);  // the third is starting, never ready
  ScaleTo(5);            // two more pending
  ASSERT_EQ(Pods().size(), 5u);
  const PodStatus starting = Pod(2);
  ASSERT_EQ(starting.phase, PodPhase::kStarting);
  const std::string older_pending = Pod(3).name;
  const std::string newer_pending = Pod(4).name;
  TakeEvents();

  auto names = [&] {
    std::vector<std::string> out;
    for (const PodStatus& p : Pods()) {
      if (p.phase != PodPhase::kTerminating) out.push_back(p.name);
    }
    return out;
  };
  ScaleTo(4);  // a pending pod has no process: it just goes
  EXPECT_THAT(names(), ElementsAre(oldest_ready, newest_ready, starting.name,
                                   older_pending));
  EXPECT_EQ(Pods().size(), 4u);
  ScaleTo(3);
  EXPECT_THAT(names(), ElementsAre(oldest_ready, newest_ready, starting.name));
  ScaleTo(2);  // the starting pod: SIGTERM, no routing change
  EXPECT_THAT(names(), ElementsAre(oldest_ready, newest_ready));
  EXPECT_THAT(processes_.signals(starting.pid), ElementsAre(SIGTERM));
  EXPECT_THAT(TakeEvents(), IsEmpty());
  ScaleTo(1);  // the newest ready pod leaves the routing set, then SIGTERM
  EXPECT_THAT(names(), ElementsAre(oldest_ready));
  EXPECT_THAT(TakeEvents(), ElementsAre("gone " + newest_ready));
  const PodCounts counts = manager_->counts();
  EXPECT_EQ(counts.requested, 1);
  EXPECT_EQ(counts.ready, 1);
  EXPECT_EQ(counts.terminating, 2);
}

TEST_F(PodManagerTest, TerminationGraceThenSigkill) {
  ReadyPods(2);
  const PodStatus keeps = Pod(0);
  const PodStatus stops = Pod(1);
  ScaleTo(0);
  EXPECT_THAT(processes_.signals(keeps.pid), ElementsAre(SIGTERM));
  EXPECT_THAT(processes_.signals(stops.pid), ElementsAre(SIGTERM));
  // One drains and exits within the grace; the other does not.
  processes_.Exit(stops.pid, 0);
  Advance(kReap);
  ASSERT_EQ(Pods().size(), 1u);
  EXPECT_EQ(Pod(0).name, keeps.name);
  Advance(kGrace - kReap - absl::Milliseconds(1));
  EXPECT_THAT(processes_.signals(keeps.pid), ElementsAre(SIGTERM));
  Advance(absl::Milliseconds(1));
  EXPECT_THAT(processes_.signals(keeps.pid), ElementsAre(SIGTERM, SIGKILL));
  Advance(kReap);
  EXPECT_THAT(Pods(), IsEmpty());
  EXPECT_EQ(manager_->counts().terminating, 0);
  EXPECT_THAT(processes_.signals(stops.pid), ElementsAre(SIGTERM));
}

TEST_F(PodManagerTest, IdleManagerWaitsWithoutATimerAndStopEndsEveryPod) {
  // No pod: nothing to look at, so the wait has no deadline.
  EXPECT_EQ(clock_.NextDeadline(), absl::InfiniteFuture());
  ScaleTo(1);  // then the start, after the delay
  EXPECT_EQ(clock_.NextDeadline(), clock_.Now() + kStartDelay);
  ScaleTo(0);
  EXPECT_EQ(clock_.NextDeadline(), absl::InfiniteFuture());
  EXPECT_EQ(manager_->counts(), PodCounts{});
  // Running processes are looked at every 10 ms.
  ReadyPods(2);
  EXPECT_EQ(clock_.NextDeadline(), clock_.Now() + kReap);
  processes_.ExitOnSigterm();
  const PodStatus a = Pod(0), b = Pod(1);
  manager_->Stop(kGrace);  // returns once both have exited
  EXPECT_THAT(processes_.signals(a.pid), ElementsAre(SIGTERM));
  EXPECT_THAT(processes_.signals(b.pid), ElementsAre(SIGTERM));
  EXPECT_THAT(Pods(), IsEmpty());
  EXPECT_EQ(manager_->counts().requested, 0);
}

// While its pods drain after SIGTERM, Stop's wait is the manager's usual
// one (the next look is kReap away on the clock), not a loop: it once spun
// on the stopping flag, 80 ms of CPU for a pod's 0.2 s drain.
TEST_F(PodManagerTest, StopWaitsForDrainingPodsWithoutSpinning) {
  ReadyPods(1);
  const PodStatus pod = Pod(0);
  std::thread stop([&] { manager_->Stop(kGrace); });
  ASSERT_TRUE(knbench::testing::WaitUntil(
      [&] { return processes_.signals(pod.pid).size() == 1; },
      absl::Seconds(10), absl::Milliseconds(1)));
  ASSERT_TRUE(clock_.Settle(1));
  EXPECT_EQ(clock_.NextDeadline(), clock_.Now() + kReap);
  // No time passes on the clock, so nobody looks again.
  const int looked = processes_.reaps();
  EXPECT_FALSE(knbench::testing::WaitUntil(
      [&] { return processes_.reaps() > looked + 1; }, absl::Milliseconds(200),
      absl::Milliseconds(5)));
  processes_.Exit(pod.pid, 0);
  clock_.Advance(kReap);
  stop.join();
  EXPECT_THAT(Pods(), IsEmpty());
}

// Each pod's processes run in its own cgroup: made at its first start (a
// pod scaled away while pending never gets one), joined by every process
// (the spawn carries its cgroup.procs files), told each new pid, removed
// once the pod is gone and its process reaped.
TEST_F(PodManagerTest, APodsProcessesJoinItsCgroupWhichGoesWithThePod) {
  ScaleTo(2);
  ScaleTo(1);  // the second goes while pending
  Advance(kStartDelay);
  const PodStatus pod = Pod(0);
  EXPECT_THAT(cgroups_.TakeCalls(),
              ElementsAre("add " + pod.name,
                          "track " + pod.name + " " + std::to_string(pod.pid)));
  EXPECT_THAT(processes_.spec(pod.pid).cgroup_procs,
              ElementsAre("/cg/cpu/" + pod.name + "/cgroup.procs",
                          "/cg/memory/" + pod.name + "/cgroup.procs"));
  // A restart joins the same cgroup.
  processes_.Exit(pod.pid, 1);
  Advance(kReap);
  const pid_t restarted = Pod(0).pid;
  ASSERT_NE(restarted, pod.pid);
  EXPECT_THAT(cgroups_.TakeCalls(), ElementsAre("track " + pod.name + " " +
                                                std::to_string(restarted)));
  EXPECT_EQ(processes_.spec(restarted).cgroup_procs,
            processes_.spec(pod.pid).cgroup_procs);
  // Scaled away: removed only once its process has been reaped.
  ScaleTo(0);
  EXPECT_THAT(cgroups_.TakeCalls(), IsEmpty());
  processes_.Exit(restarted, 0);
  Advance(kReap);
  EXPECT_THAT(cgroups_.TakeCalls(), ElementsAre("remove " + pod.name));
  EXPECT_THAT(Pods(), IsEmpty());
}

// A SIGKILL while the pod's cgroup counted an OOM kill is the kubelet's
// OOMKilled; another SIGKILL or a failing exit is Error, exit 0 Completed.
TEST_F(PodManagerTest, RestartsAreCountedByReasonOomKilledFromTheCgroup) {
  ReadyPods(1);
  const std::string name = Pod(0).name;
  cgroups_.OomKill(name);
  processes_.Signal(Pod(0).pid, SIGKILL);  // what the kernel's OOM killer does
  Advance(kReap);
  EXPECT_EQ(Pod(0).last_termination_reason, "OOMKilled");
  Advance(absl::Seconds(10));              // the back-off
  processes_.Signal(Pod(0).pid, SIGKILL);  // no OOM kill this time
  Advance(kReap);
  EXPECT_EQ(Pod(0).last_termination_reason, "Error");
  Advance(absl::Seconds(20));
  processes_.Exit(Pod(0).pid, 0);
  Advance(kReap);
  EXPECT_EQ(Pod(0).last_termination_reason, "Completed");
  const PodCounts counts = manager_->counts();
  EXPECT_EQ(counts.restarts, 3);
  EXPECT_EQ(counts.restarts_by_reason,
            (std::map<std::string, int64_t>{
                {"Completed", 1}, {"Error", 1}, {"OOMKilled", 1}}));
  EXPECT_EQ(Pod(0).restarts, 3);
}

// A cgroup that cannot be made holds the pod back, retried every second,
// as the kubelet retries a pod sandbox.
TEST_F(PodManagerTest, APodWaitsForItsCgroup) {
  cgroups_.Fail(true);
  ScaleTo(1);
  Advance(kStartDelay);
  EXPECT_EQ(processes_.spawned(), 0);
  EXPECT_EQ(Pod(0).phase, PodPhase::kPending);
  cgroups_.Fail(false);
  Advance(absl::Seconds(1) - absl::Milliseconds(1));
  EXPECT_EQ(processes_.spawned(), 0);
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(processes_.spawned(), 1);
  const std::string name = Pod(0).name;
  EXPECT_THAT(cgroups_.TakeCalls(),
              ElementsAre("add " + name, "add " + name,
                          "track " + name + " " + std::to_string(Pod(0).pid)));
}

// The times the HPA reads: the pod's start (its first process) and its
// Ready condition's last change.
TEST_F(PodManagerTest, StartAndReadyTransitionTimes) {
  ScaleTo(1);
  Advance(kStartDelay);
  const absl::Time started = clock_.Now();
  EXPECT_EQ(Pod(0).started_at, started);
  EXPECT_EQ(Pod(0).ready_changed_at, started);
  Advance(kProbe * 2);
  readiness_.SetServing(Pod(0).name);
  Advance(kProbe);
  const absl::Time ready = clock_.Now();
  ASSERT_EQ(Pod(0).phase, PodPhase::kReady);
  EXPECT_EQ(Pod(0).ready_changed_at, ready);
  Advance(absl::Seconds(5));
  processes_.Exit(Pod(0).pid, 1);
  Advance(kReap);
  EXPECT_EQ(Pod(0).ready_changed_at, clock_.Now());  // not ready any more
  EXPECT_EQ(Pod(0).started_at, started);             // a restart keeps it
}

}  // namespace
}  // namespace knbench::local_serving
