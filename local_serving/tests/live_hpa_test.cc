// The live HPA against the offline replay: whatever the pods did, and
// however late the loop ran, replaying --stats-out (kpa_model --class=hpa)
// gives --decisions-out byte for byte.
#include "knbench/local_serving/live_hpa.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/autoscaler_model/hpa_input.h"
#include "knbench/autoscaler_model/hpa_replay.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;
using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(9000);

absl::Time At(double s) { return kStart + absl::Seconds(s); }

// CPU 50 % of a 100m request, samples every 2 s, syncs every 3 s (so a
// sync can fall between samples), a 6 s window, 1 to 5 pods.
am::HpaConfig Config() {
  am::HpaConfig c;
  c.target = 50;
  c.cpu_request = 100;
  c.metric_resolution = absl::Seconds(2);
  c.sync_period = absl::Seconds(3);
  c.window = absl::Seconds(6);
  c.min_scale = 1;
  c.max_scale = 5;
  c.cpu_initialization_period = absl::Seconds(2);
  return c;
}

// Pods that start 1 s after they are asked for and are ready 0.5 s later;
// the load's CPU is shared by the ready pods.
class FakeCluster {
 public:
  void ScaleTo(int32_t n) {
    while (static_cast<int32_t>(pods_.size()) < n) {
      pods_.push_back({absl::StrCat("pod-", next_++), now_});
    }
    while (static_cast<int32_t>(pods_.size()) > n) pods_.pop_back();
  }
  void MoveTo(absl::Time t) {
    const int ready = static_cast<int>(std::count_if(
        pods_.begin(), pods_.end(), [&](const Pod& p) { return Ready(p); }));
    for (Pod& p : pods_) {
      if (Ready(p))
        p.cpu += load_cores_ / ready * absl::ToDoubleSeconds(t - now_);
    }
    now_ = t;
  }
  void SetLoad(double cores) { load_cores_ = cores; }
  std::vector<PodObservation> Observe() const {
    std::vector<PodObservation> out;
    for (size_t i = 0; i < pods_.size(); ++i) {
      const Pod& p = pods_[i];
      PodObservation o;
      o.name = p.name;
      o.started = now_ >= p.created + absl::Seconds(1);
      o.start = p.created + absl::Seconds(1);
      o.ready = Ready(p);
      o.ready_since = o.ready ? p.created + absl::Milliseconds(1500) : o.start;
      if (o.started) {
        o.pid = static_cast<pid_t>(100 + i);
        cgroups::Usage usage;
        usage.cpu_seconds = p.cpu;
        usage.memory_working_set_bytes = 1 << 20;
        o.usage = usage;
      }
      out.push_back(o);
    }
    return out;
  }

 private:
  struct Pod {
    std::string name;
    absl::Time created;
    double cpu = 0;
  };
  bool Ready(const Pod& p) const {
    return now_ >= p.created + absl::Milliseconds(1500);
  }

  std::vector<Pod> pods_;
  int next_ = 0;
  absl::Time now_ = kStart;
  double load_cores_ = 0;
};

std::string Replay(const std::string& stats, const am::HpaConfig& config) {
  std::istringstream in(stats);
  auto input = am::ReadHpaSamples(in, config);
  EXPECT_TRUE(input.ok()) << input.status();
  return am::FormatHpaDecisionsCsv(am::ReplayHpa(input->samples, config));
}

std::vector<std::string> Times(const std::string& csv) {
  std::vector<std::string> times;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    times.emplace_back(line.substr(0, line.find(',')));
  }
  times.erase(times.begin());  // the header
  return times;
}

TEST(LiveHpa, TheDecisionsFileIsTheReplayOfTheSamplesFile) {
  const am::HpaConfig config = Config();
  FakeCluster cluster;
  std::ostringstream stats, decisions;
  LiveHpa live(
      config, kStart, [&] { return cluster.Observe(); }, &stats, &decisions);
  EXPECT_EQ(live.scale(), 1);  // min replicas before the first sync
  cluster.ScaleTo(live.scale());
  std::vector<am::HpaRow> rows;
  // Every 100 ms up to 39.5 s, except that the loop is held up from 21.1 s to
  // 25.3 s (the samples at 22 s and 24 s are due together: 22 s is missed).
  for (double t = 0; t <= 39.501; t += 0.1) {
    if (t > 21.05 && t < 25.25) continue;
    cluster.SetLoad(t >= 4 && t < 20 ? 0.4 : 0);
    cluster.MoveTo(At(t));
    for (const am::HpaRow& row : live.Advance(At(t))) rows.push_back(row);
    cluster.ScaleTo(live.scale());
  }
  EXPECT_EQ(decisions.str(), Replay(stats.str(), config));
  // 0.4 cores at 50 % of 100m: up to 5 pods (the maximum), then back to 1.
  int32_t peak = 0;
  for (const am::HpaRow& row : rows) peak = std::max(peak, row.desired_pods);
  EXPECT_EQ(peak, 5);
  EXPECT_EQ(rows.back().desired_pods, 1);
  EXPECT_EQ(live.scale(), 1);
  // Samples every 2 s but 22 s; the syncs every 3 s that a sample reached
  // (the one at 39 s was made, but is not written: no sample at or after
  // it, as the replay has none).
  std::vector<std::string> sample_times = Times(stats.str());
  sample_times.erase(std::unique(sample_times.begin(), sample_times.end()),
                     sample_times.end());
  EXPECT_THAT(sample_times, ElementsAre("0", "2", "4", "6", "8", "10", "12",
                                        "14", "16", "18", "20", "24", "26",
                                        "28", "30", "32", "34", "36", "38"));
  EXPECT_THAT(Times(decisions.str()),
              ElementsAre("0", "3", "6", "9", "12", "15", "18", "21", "24",
                          "27", "30", "33", "36"));
  EXPECT_EQ(rows.size(), 14u);
}

TEST(LiveHpa, ASyncWaitsInTheFileUntilASampleReachesIt) {
  FakeCluster cluster;
  std::ostringstream stats, decisions;
  LiveHpa live(
      Config(), kStart, [&] { return cluster.Observe(); }, &stats, &decisions);
  cluster.ScaleTo(1);
  EXPECT_EQ(live.next_due(), At(0));
  live.Advance(At(0));  // sample and sync at 0
  EXPECT_THAT(Times(decisions.str()), ElementsAre("0"));
  EXPECT_EQ(live.next_due(), At(2));
  live.Advance(At(2));
  EXPECT_EQ(live.next_due(), At(3));
  EXPECT_EQ(live.Advance(At(3)).size(), 1u);  // made, with the 2 s sample
  EXPECT_THAT(Times(decisions.str()), ElementsAre("0"));
  live.Advance(At(4));  // the 4 s sample reaches it
  EXPECT_THAT(Times(decisions.str()), ElementsAre("0", "3"));
  EXPECT_EQ(decisions.str(), Replay(stats.str(), Config()));
}

}  // namespace
}  // namespace knbench::local_serving
