// The live autoscaler against the offline replay: whatever the traffic and
// the pods did, replaying --stats-out through the model gives --decisions-out
// exactly, pokes included.
#include "knbench/local_serving/live_autoscaler.h"

#include <algorithm>
#include <deque>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "knbench/autoscaler_model/input.h"
#include "knbench/autoscaler_model/simulator.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;

const absl::Time kStart = absl::FromUnixSeconds(5000);

absl::Time At(double s) { return kStart + absl::Seconds(s); }

am::KpaConfig Config() {
  am::KpaConfig c;
  c.target = 10;
  c.target_utilization_percentage = 100;
  c.stable_window = absl::Seconds(6);
  c.scale_to_zero_grace_period = absl::Seconds(6);
  return c;
}

// Pods that become ready 1.3 s after the scale asks for them and go at once.
class FakePods {
 public:
  void ScaleTo(int32_t n, absl::Time now) {
    while (static_cast<int32_t>(ready_at_.size()) < n) {
      ready_at_.push_back(now + absl::Milliseconds(1300));
    }
    while (static_cast<int32_t>(ready_at_.size()) > n) ready_at_.pop_back();
  }
  int32_t Ready(absl::Time now) const {
    return static_cast<int32_t>(
        std::count_if(ready_at_.begin(), ready_at_.end(),
                      [&](absl::Time t) { return t <= now; }));
  }

 private:
  std::deque<absl::Time> ready_at_;
};

std::string Replay(const std::string& stats_csv, const am::KpaConfig& config) {
  std::istringstream in(stats_csv);
  auto input = am::ReadInput(in);
  EXPECT_TRUE(input.ok()) << input.status();
  return am::FormatTicksCsv(
      am::Simulate(am::SeriesFor(*input, config.metric), config, {}));
}

struct LiveRun {
  std::string stats;
  std::string decisions;
  std::vector<am::TickRow> rows;
};

// Traffic: `load(t)` requests in the system at time t, changed every 50 ms.
template <typename Load>
LiveRun Drive(const am::KpaConfig& config, double seconds, Load load) {
  SecondStats stats(kStart);
  FakePods pods;
  absl::Time now = kStart;
  std::ostringstream stats_out;
  std::ostringstream decisions_out;
  LiveAutoscaler live(
      config, kStart, &stats, [&] { return pods.Ready(now); }, &stats_out,
      &decisions_out);
  pods.ScaleTo(live.scale(), now);
  LiveRun run;
  int in_system = 0;
  for (int step = 0; step <= static_cast<int>(seconds * 20); ++step) {
    now = At(step * 0.05);
    const int want = load(step * 0.05);
    while (in_system < want) {
      stats.Arrive(now);
      ++in_system;
    }
    while (in_system > want) {
      stats.Depart(now);
      --in_system;
    }
    for (const am::TickRow& row : live.Advance(now)) {
      pods.ScaleTo(row.desired_pods, now);
      run.rows.push_back(row);
    }
  }
  run.stats = stats_out.str();
  run.decisions = decisions_out.str();
  return run;
}

TEST(LiveAutoscaler, ReplayingStatsOutGivesDecisionsOut) {
  const am::KpaConfig config = Config();
  // 10 in flight for 10 s, idle (scale to zero), a burst of 30 at 40-50 s
  // (poke from zero, then panic), idle again.
  const LiveRun run = Drive(config, 70, [](double t) {
    if (t < 10) return 10;
    if (t >= 40.3 && t < 50) return 30;
    return 0;
  });
  EXPECT_EQ(run.decisions, Replay(run.stats, config));
  // The run shows what it is meant to: a poke, panic, and zero.
  int pokes = 0;
  bool panicked = false;
  bool zero = false;
  for (const am::TickRow& r : run.rows) {
    pokes += r.poke ? 1 : 0;
    panicked |= r.panic_mode;
    zero |= r.desired_pods == 0 && r.time_s > 10 && r.time_s < 40;
  }
  EXPECT_EQ(pokes, 1);
  EXPECT_TRUE(panicked);
  EXPECT_TRUE(zero);
  EXPECT_NE(run.decisions.find(",1\n"), std::string::npos);  // the poke row
}

TEST(LiveAutoscaler, RpsMetricRecordsArrivals) {
  am::KpaConfig config = Config();
  config.metric = am::Metric::kRps;
  // A fresh request every 50 ms for 5 s, each leaving 50 ms later: 20/s.
  SecondStats stats(kStart);
  std::ostringstream stats_out;
  LiveAutoscaler live(
      config, kStart, &stats, [] { return 1; }, &stats_out, nullptr);
  for (int step = 0; step < 100; ++step) {
    stats.Arrive(At(step * 0.05));
    stats.Depart(At(step * 0.05 + 0.04));
  }
  live.Advance(At(5.0));
  std::istringstream in(stats_out.str());
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "time_s,value,ready_pods");
  std::getline(in, line);
  EXPECT_EQ(line, "0,20.000000,1");
}

TEST(LiveAutoscaler, APokeInTheOpenSecondIsWrittenOnlyOnceItEnds) {
  am::KpaConfig config = Config();
  config.initial_scale = 0;
  SecondStats stats(kStart);
  std::ostringstream decisions;
  LiveAutoscaler live(
      config, kStart, &stats, [] { return 0; }, nullptr, &decisions);
  EXPECT_TRUE(live.Advance(At(2.0)).size() == 1);  // tick at 2: zero
  EXPECT_TRUE(live.pokeable());
  stats.Arrive(At(2.5));
  const auto rows = live.Advance(At(2.5));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].poke);
  EXPECT_EQ(rows[0].time_s, 2);
  EXPECT_EQ(rows[0].desired_pods, 1);
  EXPECT_FALSE(live.pokeable());
  const size_t before = decisions.str().size();
  live.Advance(At(2.9));
  EXPECT_EQ(decisions.str().size(), before);
  live.Advance(At(3.0));
  EXPECT_GT(decisions.str().size(), before);
}

}  // namespace
}  // namespace knbench::local_serving
