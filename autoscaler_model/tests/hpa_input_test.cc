// The HPA replay's input (reader, writer) and the replay itself, end to
// end: exact rows for a small input worked by hand, the defaults of the
// optional columns, errors, and live == replay for a simulated live loop.
#include "knbench/autoscaler_model/hpa_input.h"

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "hpa_test_pods.h"
#include "knbench/autoscaler_model/hpa_controller.h"
#include "knbench/autoscaler_model/hpa_replay.h"

namespace knbench::autoscaler_model {
namespace {

absl::StatusOr<HpaInput> Read(const std::string& text,
                              const HpaConfig& config = Cpu50()) {
  std::istringstream in(text);
  return ReadHpaSamples(in, config);
}

// Pods a, b from the start; c, d appear at 15 without a metric and not
// ready, turn ready at 30; d has no row at 60 but comes back at 80.
constexpr char kSmallInput[] =
    "time_s,pod,cpu_millicores,ready\n"
    "0,a,100,1\n0,b,100,1\n"
    "15,a,100,1\n15,b,100,1\n15,c,,0\n15,d,,0\n"
    "30,a,60,1\n30,b,60,1\n30,c,20,1\n30,d,20,1\n"
    "45,a,40,1\n45,b,40,1\n45,c,40,1\n45,d,40,1\n"
    "60,a,10,1\n60,b,10,1\n60,c,10,1\n"
    "80,a,10,1\n80,b,10,1\n80,c,10,1\n80,d,10,1\n";

TEST(ReplayHpa, SmallInputGivesExactRows) {
  // Target 50 % of 100 m; created over a, b (2), which started an
  // initialization period before 0. Syncs at 0, 15, ... 75 (90 > 80).
  //  0: 2 x 100: 2.0 -> 4; max(4, 2@0) = 4; limit max(2 x 2, 4) = 4.
  // 15: c, d missing; 2.0 > 1 so they count 0: 200/400 = 50 -> 1.0:
  //     within the tolerance, 4.
  // 30: c, d ready since 30, sampled at 30 < 30 + 15: unready. 120/200 =
  //     60 -> 1.2 > 1, unready count 0: 120/400 = 30 -> 0.6: direction.
  // 45: c, d sampled a window after ready: 160/400 = 40 -> 0.8 ->
  //     ceil(3.2) = 4.
  // 60: d (in the input until 80) is missing; 0.2 < 1, so it counts
  //     100 m: 130/400 = 32 -> 0.64 -> ceil(2.56) = 3; the recommendations
  //     of the last 300 s hold 4.
  // 75: the latest sample is still 60's: the same.
  auto input = Read(kSmallInput);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->rows, 21);
  EXPECT_EQ(FormatHpaDecisionsCsv(ReplayHpa(input->samples, Cpu50())),
            std::string(kHpaDecisionsCsvHeader) +
                "0,4,2,100,100,2,0,0,scale,4,4,none\n"
                "15,4,4,100,100,2,0,2,tolerance,4,4,none\n"
                "30,4,4,60,60,2,2,0,direction,4,4,none\n"
                "45,4,4,40,40,4,0,0,scale,4,4,none\n"
                "60,4,4,10,10,3,0,1,scale,3,4,stabilization\n"
                "75,4,4,10,10,3,0,1,scale,3,4,stabilization\n");
}

TEST(ReadHpaSamples, DerivesStartReadinessAndGaps) {
  auto input = Read(kSmallInput);
  ASSERT_TRUE(input.ok()) << input.status();
  const auto& s = input->samples;
  ASSERT_EQ(s.size(), 6u);
  // First-sample pods started one initialization period (300 s) before.
  EXPECT_EQ(s[0].pods[0].start, absl::Seconds(-300));
  EXPECT_EQ(s[0].pods[0].ready_since, absl::Seconds(-300));
  // Later pods start at their first row, ready state changing at a sample.
  const HpaPod& c15 = s[1].pods[2];
  EXPECT_EQ(c15.name, "c");
  EXPECT_EQ(c15.start, absl::Seconds(15));
  EXPECT_EQ(c15.ready_since, absl::Seconds(15));
  EXPECT_EQ(s[2].pods[2].ready_since, absl::Seconds(30));
  EXPECT_EQ(s[3].pods[2].ready_since, absl::Seconds(30));
  // d has no row at 60: present, no metric, its state carried.
  ASSERT_EQ(s[4].pods.size(), 4u);
  const HpaPod& d60 = s[4].pods[3];
  EXPECT_EQ(d60.name, "d");
  EXPECT_FALSE(d60.cpu_millicores.has_value());
  EXPECT_TRUE(d60.ready);
  EXPECT_EQ(d60.start, absl::Seconds(15));
  EXPECT_EQ(d60.ready_since, absl::Seconds(30));
  // A pod after its last row is gone.
  auto gone = Read(
      "time_s,pod,cpu_millicores,ready\n0,a,1,1\n0,b,1,1\n"
      "15,a,1,1\n");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->samples[1].pods.size(), 1u);
}

TEST(ReadHpaSamples, OptionalColumnsAndExtraOnes) {
  auto input = Read(
      "time_s,pod,cpu_millicores,ready,memory_bytes,start_s,ready_since_s,"
      "note\n"
      "10,a,5,1,1048576,2.5,3.25,x\n"
      "10,b,,0,,,,y\n");
  ASSERT_TRUE(input.ok()) << input.status();
  const HpaPod& a = input->samples[0].pods[0];
  EXPECT_EQ(a.cpu_millicores, 5);
  EXPECT_EQ(a.memory_bytes, 1048576);
  EXPECT_EQ(a.start, absl::Milliseconds(2500));
  EXPECT_EQ(a.ready_since, absl::Milliseconds(3250));
  // An empty start_s: not started (Pending); an empty ready_since_s: the
  // derived default (its first row).
  const HpaPod& b = input->samples[0].pods[1];
  EXPECT_FALSE(b.start.has_value());
  EXPECT_EQ(b.ready_since, absl::Seconds(10));
  EXPECT_FALSE(b.memory_bytes.has_value());
}

TEST(ReplayHpa, SyncsEverySyncPeriodOnTheLatestSample) {
  // Samples at 0, 20, 40; syncs at 0, 15 (sample 0), 30 (sample 20); 45 is
  // after the last sample. At 0 and 15: 2 x 50 = ratio 1.0: 2. At 30:
  // 2 x 100 = 2.0 -> 4.
  auto input = Read(
      "time_s,pod,cpu_millicores,ready\n0,a,50,1\n0,b,50,1\n20,a,100,1\n"
      "20,b,100,1\n40,a,100,1\n40,b,100,1\n");
  ASSERT_TRUE(input.ok()) << input.status();
  const auto rows = ReplayHpa(input->samples, Cpu50());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].time, absl::Seconds(15));
  EXPECT_EQ(rows[1].desired_pods, 2);
  EXPECT_EQ(rows[2].time, absl::Seconds(30));
  EXPECT_EQ(rows[2].desired_pods, 4);
}

// A live loop as local serving would run one: metrics every 10 s, syncs
// every 15 s, pods following the HPA's scale (a new pod is Pending for 5 s
// and ready 10 s after it is created; now and then a pod has no metric),
// sharing a load of 500 m for 300 s and 20 m after. It writes the samples
// and decisions as it goes; replaying the samples must give the decisions
// byte for byte.
TEST(ReplayHpa, ReplaysALiveLoopExactly) {
  HpaConfig config = Cpu50();
  config.metric_resolution = absl::Seconds(10);
  config.downscale_stabilization = absl::Seconds(60);
  HpaController live(config, 2);
  std::string stats = kHpaSamplesCsvHeader;
  std::string decisions = kHpaDecisionsCsvHeader;
  struct LivePod {
    std::string name;
    int64_t created;
  };
  std::vector<LivePod> pods = {{"p0", -1000}, {"p1", -1000}};
  int next = 2;
  int32_t peak = 0;
  uint64_t lcg = 12345;
  HpaSample latest;
  for (int64_t t = 0; t <= 600; t += 5) {
    if (t % 10 == 0) {
      latest = HpaSample{absl::Seconds(t), {}};
      const int64_t share =
          (t < 300 ? 500 : 20) / static_cast<int64_t>(pods.size());
      for (const LivePod& p : pods) {
        lcg = lcg * 6364136223846793005u + 1442695040888963407u;
        const bool started = t >= p.created + 5;
        const bool ready = t >= p.created + 10;
        HpaPod pod = Pod(p.name, share + static_cast<int64_t>(lcg >> 60), ready,
                         std::nullopt, ready ? p.created + 10 : p.created);
        if (started) pod.start = absl::Seconds(p.created + 5);
        if (!started || lcg % 7 == 0) pod.cpu_millicores.reset();
        latest.pods.push_back(pod);
      }
      stats += FormatHpaSample(latest);
    }
    if (t % 15 == 0) {
      decisions += FormatHpaRow(live.Sync(absl::Seconds(t), latest));
      while (static_cast<int64_t>(pods.size()) < live.scale()) {
        pods.push_back({absl::StrCat("p", next++), t});
      }
      pods.resize(static_cast<size_t>(live.scale()));
      peak = std::max(peak, live.scale());
    }
  }
  auto input = Read(stats, config);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(FormatHpaDecisionsCsv(ReplayHpa(input->samples, config)),
            decisions);
  // The run went up and back down, so the rows exercise the rules.
  EXPECT_GE(peak, 8);
  EXPECT_LT(live.scale(), peak / 2);
}

TEST(FormatHpaSample, ReadsBackTheSame) {
  HpaSample s{absl::Milliseconds(1500), {}};
  s.pods.push_back(Pod("a,\"b\"", 7, true, 0, 1));
  s.pods.back().memory_bytes = 42;
  s.pods.push_back(Pod("pending", std::nullopt, false, std::nullopt, -2));
  const std::string text = kHpaSamplesCsvHeader + FormatHpaSample(s);
  EXPECT_EQ(text,
            "time_s,pod,cpu_millicores,ready,memory_bytes,start_s,"
            "ready_since_s\n"
            "1.5,\"a,\"\"b\"\"\",7,1,42,0,1\n"
            "1.5,pending,,0,,,-2\n");
  auto back = Read(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(kHpaSamplesCsvHeader + FormatHpaSample(back->samples[0]), text);
}

TEST(FormatHpaSeconds, MillisecondsWithoutTrailingZeros) {
  EXPECT_EQ(FormatHpaSeconds(absl::ZeroDuration()), "0");
  EXPECT_EQ(FormatHpaSeconds(absl::Seconds(15)), "15");
  EXPECT_EQ(FormatHpaSeconds(absl::Milliseconds(15500)), "15.5");
  EXPECT_EQ(FormatHpaSeconds(absl::Milliseconds(1)), "0.001");
  EXPECT_EQ(FormatHpaSeconds(absl::Milliseconds(-250)), "-0.25");
  EXPECT_EQ(FormatHpaSeconds(absl::Milliseconds(-1500)), "-1.5");
}

struct BadInput {
  std::string name;
  std::string text;
  std::string error;
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.name; }

class ReadHpaSamplesErrors : public testing::TestWithParam<BadInput> {};

TEST_P(ReadHpaSamplesErrors, OneLineNamingTheProblem) {
  HpaConfig config = Cpu50();
  if (GetParam().name == "memory needs its column") {
    config.metric = HpaMetric::kMemory;
  }
  auto input = Read(GetParam().text, config);
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().message(), GetParam().error);
}

const char kHeader[] = "time_s,pod,cpu_millicores,ready\n";

INSTANTIATE_TEST_SUITE_P(
    Vectors, ReadHpaSamplesErrors,
    testing::ValuesIn(std::vector<BadInput>{
        {"empty", "", "input is empty"},
        {"header without rows", kHeader, "input has a header but no rows"},
        {"missing columns", "time_s,pod\n0,a\n",
         "header needs time_s, pod, cpu_millicores and ready; it has "
         "time_s,pod"},
        {"memory needs its column", std::string(kHeader) + "0,a,1,1\n",
         "the memory metric needs a memory_bytes column"},
        {"bad time", std::string(kHeader) + "x,a,1,1\n",
         "line 2: bad time_s \"x\""},
        {"infinite time", std::string(kHeader) + "inf,a,1,1\n",
         "line 2: bad time_s \"inf\""},
        {"empty pod", std::string(kHeader) + "0,,1,1\n",
         "line 2: bad pod \"\""},
        {"negative cpu", std::string(kHeader) + "0,a,-1,1\n",
         "line 2: bad cpu_millicores \"-1\""},
        {"fractional cpu", std::string(kHeader) + "0,a,1.5,1\n",
         "line 2: bad cpu_millicores \"1.5\""},
        {"bad ready", std::string(kHeader) + "0,a,1,2\n",
         "line 2: bad ready \"2\""},
        {"field count", std::string(kHeader) + "0,a,1\n",
         "line 2: 3 fields, header has 4"},
        {"time goes back", std::string(kHeader) + "10,a,1,1\n5,a,1,1\n",
         "line 3: time_s 5 is before the previous row's 10"},
        {"pod twice", std::string(kHeader) + "10,a,1,1\n10,a,2,1\n",
         "line 3: pod \"a\" twice at time_s 10"},
        {"bad memory",
         "time_s,pod,cpu_millicores,ready,memory_bytes\n0,a,1,1,x\n",
         "line 2: bad memory_bytes \"x\""},
        {"bad start", "time_s,pod,cpu_millicores,ready,start_s\n0,a,1,1,x\n",
         "line 2: bad start_s \"x\""},
        {"bad ready_since",
         "time_s,pod,cpu_millicores,ready,ready_since_s\n0,a,1,1,nan\n",
         "line 2: bad ready_since_s \"nan\""},
        {"over a week", std::string(kHeader) + "0,a,1,1\n604801,a,1,1\n",
         "input spans 604801 s; more than a week"},
    }));

TEST(ReadHpaSamples, AtMostThePodLimitPerSample) {
  std::string text = kHeader;
  for (int i = 0; i <= 10000; ++i) absl::StrAppend(&text, "0,p", i, ",1,1\n");
  auto input = Read(text);
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().message(),
            "line 10002: more than 10000 pods at time_s 0");
}

TEST(ReadHpaSamples, BrokenQuoteNamesItsLine) {
  auto input = Read(std::string(kHeader) + "0,a,1,1\n0,\"b,1,1\n");
  ASSERT_FALSE(input.ok());
  EXPECT_NE(input.status().message().find("line 3"), std::string::npos)
      << input.status();
}

}  // namespace
}  // namespace knbench::autoscaler_model
