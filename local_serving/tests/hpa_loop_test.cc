// The HPA class's loop on a fake clock, with the pods' processes and
// readiness faked and their CPU usage made up by the test: samples and
// syncs on time, the pods scaled 1 -> max under load and back to the
// minimum (never 0) after the stabilization window, the activator in the
// path only while no pod is ready, kube-state-metrics' series, and files
// that replay.
#include "knbench/local_serving/hpa_loop.h"

#include <map>
#include <sstream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "fake_world.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/autoscaler_model/hpa_input.h"
#include "knbench/autoscaler_model/hpa_replay.h"
#include "knbench/common/metrics_endpoint.h"
#include "knbench/testing/fake_clock.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;
using ::knbench::local_serving::testing::FakeProcesses;
using ::knbench::local_serving::testing::FakeReadiness;
using ::knbench::testing::FakeClock;
using ::testing::HasSubstr;

// 70 % of a 500m request, samples and syncs every 2 s, a 6 s window, 1 to
// 3 pods: what the e2e test runs, on a fake clock.
am::HpaConfig Config() {
  am::HpaConfig c;
  c.target = 70;
  c.cpu_request = 500;
  c.min_scale = 1;
  c.max_scale = 3;
  c.window = absl::Seconds(6);
  c.metric_resolution = absl::Seconds(2);
  c.sync_period = absl::Seconds(2);
  return c;
}

// CPU time used by each process: the load, shared by the ready pods.
class FakeUsage {
 public:
  void Run(const std::vector<PodStatus>& pods, double cores, absl::Duration d) {
    std::vector<pid_t> ready;
    for (const PodStatus& p : pods) {
      if (p.phase == PodPhase::kReady) ready.push_back(p.pid);
    }
    absl::MutexLock lock(&mu_);
    for (pid_t pid : ready) {
      cpu_[pid] += cores / ready.size() * absl::ToDoubleSeconds(d);
    }
  }
  cgroups::Usage Of(pid_t pid) {
    absl::MutexLock lock(&mu_);
    cgroups::Usage usage;
    usage.cpu_seconds = cpu_[pid];
    return usage;
  }

 private:
  absl::Mutex mu_;
  std::map<pid_t, double> cpu_;
};

class HpaLoopTest : public ::testing::Test {
 protected:
  HpaLoopTest()
      : start_(clock_.Now()),
        stats_(start_),
        router_(RouterOptions{}, &stats_, nullptr, &clock_),
        metrics_(registry_, MetricNames::kOpenCensus, RevisionLabels{},
                 std::nullopt),
        hpa_metrics_(registry_, "default", "worker-00001",
                     am::MakeHpaSpec(Config())) {
    PodManager::Options options;
    options.start_delay = absl::Seconds(1);
    options.worker_path = "/fake/worker";
    PodManager::Listener listener;
    listener.ready = [this](const std::string& name,
                            const std::string& address) {
      router_.AddPod(name, address);
    };
    listener.gone = [this](const std::string& name) {
      router_.RemovePod(name);
    };
    listener.counts = [this](const PodCounts& counts) {
      loop_->OnPods(counts);
    };
    readiness_.SetAllServing();
    processes_.ExitOnSigterm();
    pods_ = std::make_unique<PodManager>(
        options, listener,
        PodManager::World{&clock_, &processes_, &readiness_});
    LoopContext context{&clock_,           start_,    &router_,
                        pods_.get(),       &metrics_, &stats_stream_,
                        &decisions_stream_};
    loop_ = std::make_unique<HpaLoop>(
        Config(), context, [this] { return Observe(); }, &hpa_metrics_);
    loop_->Start();
    pods_->Start();
  }
  ~HpaLoopTest() override {
    loop_->Stop();
    pods_->Stop(absl::ZeroDuration());
  }

  std::vector<PodObservation> Observe() {
    std::vector<PodObservation> out;
    for (const PodStatus& p : pods_->pods()) {
      if (p.phase == PodPhase::kTerminating) continue;
      PodObservation o{p.name,
                       p.started_once,
                       p.started_at,
                       p.phase == PodPhase::kReady,
                       p.ready_changed_at,
                       p.pid,
                       std::nullopt};
      if (p.pid != 0) o.usage = usage_.Of(p.pid);
      out.push_back(o);
    }
    return out;
  }

  // `seconds` of `cores` of load, 100 ms at a time; the largest scale seen.
  int32_t Run(double cores, double seconds) {
    int32_t peak = 0;
    for (int i = 0; i < seconds * 10; ++i) {
      usage_.Run(pods_->pods(), cores, absl::Milliseconds(100));
      clock_.Advance(absl::Milliseconds(100));
      EXPECT_TRUE(clock_.Settle(2));
      const PodCounts counts = pods_->counts();
      EXPECT_GE(counts.requested, 1) << "never below one pod";
      peak = std::max(peak, counts.requested);
    }
    return peak;
  }

  std::string Metrics() { return RenderMetrics(registry_); }

  FakeClock clock_;
  const absl::Time start_;
  SecondStats stats_;
  Router router_;
  prometheus::Registry registry_;
  ServingMetrics metrics_;
  HpaMetrics hpa_metrics_;
  FakeProcesses processes_;
  FakeReadiness readiness_;
  FakeUsage usage_;
  std::ostringstream stats_stream_, decisions_stream_;
  std::unique_ptr<PodManager> pods_;
  std::unique_ptr<HpaLoop> loop_;
};

TEST_F(HpaLoopTest, ScalesUpUnderLoadAndBackToTheMinimumNeverToZero) {
  // One pod from the start, the activator in the path until it is ready.
  EXPECT_EQ(pods_->counts().requested, 1);
  EXPECT_TRUE(router_.snapshot().activator_in_path);
  EXPECT_EQ(loop_->idle_pods(), 1);
  EXPECT_EQ(Run(0, 2), 1);
  EXPECT_EQ(pods_->counts().ready, 1);
  EXPECT_FALSE(router_.snapshot().activator_in_path);
  EXPECT_THAT(
      Metrics(),
      HasSubstr(
          "kube_horizontalpodautoscaler_spec_max_replicas{"
          "horizontalpodautoscaler=\"worker-00001\",namespace=\"default\"} 3"));
  // 0.8 cores: 160 % of the request, more than twice the target. The
  // scale-up waits for the 6 s window's lowest recommendation (the HPA's
  // first, 1 pod, at 0 s).
  EXPECT_EQ(Run(0.8, 3), 1);
  EXPECT_EQ(Run(0.8, 15), 3);
  EXPECT_EQ(pods_->counts().ready, 3);
  const std::string text = Metrics();
  EXPECT_THAT(text, HasSubstr("kube_horizontalpodautoscaler_status_desired_"
                              "replicas{horizontalpodautoscaler=\"worker-"
                              "00001\",namespace=\"default\"} 3"));
  EXPECT_THAT(text, HasSubstr("autoscaler_desired_pods{"));
  EXPECT_THAT(text, HasSubstr("metric_name=\"cpu\",metric_target_type="
                              "\"utilization\",namespace=\"default\"} 70"));
  EXPECT_THAT(text, Not(HasSubstr("autoscaler_panic_mode")));
  // Idle: down to one pod once the window has passed, and no lower.
  Run(0, 4);
  EXPECT_EQ(pods_->counts().requested, 3);  // the window holds it
  Run(0, 16);
  EXPECT_EQ(pods_->counts().requested, 1);
  EXPECT_FALSE(router_.snapshot().activator_in_path);

  loop_->Stop();
  std::istringstream in(stats_stream_.str());
  auto samples = am::ReadHpaSamples(in, Config());
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(decisions_stream_.str(), am::FormatHpaDecisionsCsv(am::ReplayHpa(
                                         samples->samples, Config())));
  // Samples every 2 s from the start: 0 .. 40 s.
  EXPECT_EQ(samples->samples.size(), 21u);
}

}  // namespace
}  // namespace knbench::local_serving
