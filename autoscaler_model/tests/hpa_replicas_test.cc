// Hand-worked vectors for Kubernetes' replica calculator. With the CPU
// request at 100 m a pod's millicores are its utilization percent.
//   utilization = floor(100 x sum(usage) / sum(request))   (ready pods)
//   ratio       = utilization / target
//   no missing pods (and no unready ones with ratio > 1):
//     ratio in [0.9, 1.1] -> current, else ceil(ratio x ready pods)
//   else: missing pods count max(100, target) % if ratio < 1, 0 if > 1;
//     unready pods count 0 if ratio > 1; ratio' over all counted pods;
//     ratio' in [0.9, 1.1] or on the other side of 1 -> current;
//     n = ceil(ratio' x pods counted); n against ratio' -> current; else n
#include "knbench/autoscaler_model/hpa_replicas.h"

#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hpa_test_pods.h"
#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {
namespace {

const absl::Duration kNow = absl::Seconds(600);

// Started 10 s ago and not ready: left out (CPU) while initializing.
HpaPod Starting(const std::string& name, int64_t cpu) {
  return Pod(name, cpu, false, 590, 590);
}

struct Case {
  std::string name;
  double target;
  int32_t current;
  std::vector<HpaPod> pods;
  int32_t want;
  HpaCalculation why;
  int32_t ready, unready, missing;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ProposeCpu : public testing::TestWithParam<Case> {};

TEST_P(ProposeCpu, HandWorked) {
  const Case& c = GetParam();
  HpaConfig config = Cpu50();
  config.target = c.target;
  const HpaSample sample{kNow, c.pods};
  const ReplicaProposal p =
      ProposeReplicas(config, MakeHpaSpec(config), c.current, sample, kNow);
  EXPECT_EQ(p.replicas, c.want);
  EXPECT_EQ(HpaCalculationName(p.calculation), HpaCalculationName(c.why));
  EXPECT_EQ(p.ready_pods, c.ready);
  EXPECT_EQ(p.unready_pods, c.unready);
  EXPECT_EQ(p.missing_pods, c.missing);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, ProposeCpu,
    testing::ValuesIn(std::vector<Case>{
        // 10 x 45: utilization 45, 45/50 = 0.9: the band's lower edge.
        {"lower edge inside", 50, 10, std::vector<HpaPod>(10, Ready("p", 45)),
         10, HpaCalculation::kTolerance, 10, 0, 0},
        // 10 x 44: 0.88 < 0.9 -> ceil(0.88 x 10) = ceil(8.8) = 9.
        {"below lower edge", 50, 10, std::vector<HpaPod>(10, Ready("p", 44)), 9,
         HpaCalculation::kScale, 10, 0, 0},
        // 10 x 55: 55/50 = 1.1: the upper edge is inside too.
        {"upper edge inside", 50, 10, std::vector<HpaPod>(10, Ready("p", 55)),
         10, HpaCalculation::kTolerance, 10, 0, 0},
        // 10 x 60: 1.2 -> ceil(12) = 12.
        {"above upper edge", 50, 10, std::vector<HpaPod>(10, Ready("p", 60)),
         12, HpaCalculation::kScale, 10, 0, 0},
        // 34+33+33 = 100 over 300: floor(33.3) = 33; 33/11 = 3 -> 9 (the
        // unrounded 3.03 would give ceil(9.09) = 10).
        {"utilization is floored",
         11,
         3,
         {Ready("a", 34), Ready("b", 33), Ready("c", 33)},
         9,
         HpaCalculation::kScale,
         3,
         0,
         0},
        // 5 x 10 + 1 missing, current 6: 0.2 < 1, so the missing pod counts
        // 100 m: 150/600 = 25 -> 0.5 -> ceil(0.5 x 6) = 3 (not 1).
        {"missing on scale-down count 100 %",
         50,
         6,
         {Ready("a", 10), Ready("b", 10), Ready("c", 10), Ready("d", 10),
          Ready("e", 10), Ready("m", std::nullopt)},
         3,
         HpaCalculation::kScale,
         5,
         0,
         1},
        // Target 200: 1 x 0 + 3 missing at max(100, 200) = 200 m: 600/400 =
        // 150 -> 0.75 -> ceil(3) = 3 (at 100 % it would be 2).
        {"missing on scale-down count the target above 100 %",
         200,
         4,
         {Ready("a", 0), Ready("m1", std::nullopt), Ready("m2", std::nullopt),
          Ready("m3", std::nullopt)},
         3,
         HpaCalculation::kScale,
         1,
         0,
         3},
        // 2 x 80 + 1 missing: 1.6 > 1, the missing pod counts 0: 160/300 =
        // 53 -> 1.06: inside the band, no scale-up.
        {"missing on scale-up count 0",
         50,
         3,
         {Ready("a", 80), Ready("b", 80), Ready("m", std::nullopt)},
         3,
         HpaCalculation::kTolerance,
         2,
         0,
         1},
        // 3 x 60 + 1 starting: 1.2 > 1, the unready pod counts 0: 180/400 =
        // 45 -> 0.9: inside the band.
        {"unready on scale-up count 0",
         50,
         4,
         {Ready("a", 60), Ready("b", 60), Ready("c", 60), Starting("u", 90)},
         4,
         HpaCalculation::kTolerance,
         3,
         1,
         0},
        // 2 x 10 + 2 starting: 0.2 < 1, unready pods are just left out:
        // ceil(0.2 x 2) = 1.
        {"unready ignored on scale-down",
         50,
         4,
         {Ready("a", 10), Ready("b", 10), Starting("u1", 90),
          Starting("u2", 90)},
         1,
         HpaCalculation::kScale,
         2,
         2,
         0},
        // 1 x 60 + 1 starting: 1.2 -> 60/200 = 30 -> 0.6: up turned down.
        {"direction flips up to down",
         50,
         2,
         {Ready("a", 60), Starting("u", 0)},
         2,
         HpaCalculation::kDirection,
         1,
         1,
         0},
        // 1 x 40 + 1 missing: 0.8 -> 140/200 = 70 -> 1.4: down turned up.
        {"direction flips down to up",
         50,
         2,
         {Ready("a", 40), Ready("m", std::nullopt)},
         2,
         HpaCalculation::kDirection,
         1,
         0,
         1},
        // Current 2 over 4 pods: 3 x 10 + 1 missing: 0.2 -> 130/400 = 32 ->
        // 0.64 -> ceil(2.56) = 3 > 2 although 0.64 < 1: keep 2.
        {"metrics length turns scale-down up",
         50,
         2,
         {Ready("a", 10), Ready("b", 10), Ready("c", 10),
          Ready("m", std::nullopt)},
         2,
         HpaCalculation::kMetricsLength,
         3,
         0,
         1},
        // Current 10 over 2 pods: 1 x 200 + 1 starting: 4.0 -> 200/200 =
        // 100 -> 2.0 -> ceil(4) = 4 < 10 although 2.0 > 1: keep 10.
        {"metrics length turns scale-up down",
         50,
         10,
         {Ready("a", 200), Starting("u", 0)},
         10,
         HpaCalculation::kMetricsLength,
         1,
         1,
         0},
        // Not started (Pending): unready even with a metric. No metric:
        // missing even when not ready (checked before readiness). 1 x 10 +
        // 1 missing: 0.2 -> 110/200 = 55 -> 1.1: inside the band.
        {"pending is unready, no metric is missing",
         50,
         3,
         {Ready("a", 10), Pod("p", 10, false, std::nullopt, 0),
          Pod("m", std::nullopt, false, 590, 590)},
         3,
         HpaCalculation::kTolerance,
         1,
         1,
         1},
        // No pod with a usable metric: no proposal.
        {"no metrics",
         50,
         3,
         {Ready("m", std::nullopt), Starting("u", 50)},
         3,
         HpaCalculation::kNoMetrics,
         0,
         1,
         1},
        {"no pods", 50, 3, {}, 3, HpaCalculation::kNoMetrics, 0, 0, 0},
    }));

TEST(ProposeCpu, PendingWithoutMetricIsUnreadyNotMissing) {
  // Kubernetes checks Pending before the metric: counted unready.
  const HpaConfig config = Cpu50();
  const HpaSample sample{
      kNow, {Ready("a", 10), Pod("p", std::nullopt, false, std::nullopt, 0)}};
  const auto p = ProposeReplicas(config, MakeHpaSpec(config), 2, sample, kNow);
  EXPECT_EQ(p.unready_pods, 1);
  EXPECT_EQ(p.missing_pods, 0);
  // 0.2 < 1 and nothing missing: ceil(0.2 x 1) = 1.
  EXPECT_EQ(p.replicas, 1);
}

// The CPU readiness rules at now = 600 s, with the initialization period
// 300 s, the readiness delay 30 s and the metric window 15 s. Each pod sits
// beside a ready pod at 50 m, so the counts show where it went.
struct Readiness {
  std::string name;
  HpaPod pod;
  bool counted;
};

class CpuReadiness : public testing::TestWithParam<Readiness> {};

TEST_P(CpuReadiness, GroupsThePod) {
  const HpaConfig config = Cpu50();
  const HpaSample sample{kNow, {Ready("ref", 50), GetParam().pod}};
  const auto p = ProposeReplicas(config, MakeHpaSpec(config), 2, sample, kNow);
  EXPECT_EQ(p.ready_pods, GetParam().counted ? 2 : 1);
  EXPECT_EQ(p.unready_pods, GetParam().counted ? 0 : 1);
  EXPECT_EQ(p.missing_pods, 0);
}

void PrintTo(const Readiness& r, std::ostream* os) { *os << r.name; }

INSTANTIATE_TEST_SUITE_P(
    Vectors, CpuReadiness,
    testing::ValuesIn(std::vector<Readiness>{
        // Started at 400: 400 + 300 > 600, initializing.
        // Ready since 590: the sample (600) is before 590 + 15: left out.
        {"initializing, sampled too soon after ready",
         Pod("x", 50, true, 400, 590), false},
        // Ready since 585: 600 is not before 585 + 15: counted.
        {"initializing, sampled a window after ready",
         Pod("x", 50, true, 400, 585), true},
        {"initializing, not ready", Pod("x", 50, false, 400, 400), false},
        // Started at 300: 300 + 300 is not after 600: initialized.
        {"initialization ends at start + period", Pod("x", 50, false, 300, 400),
         true},
        // Started at 100, unready since 120: 100 + 30 > 120, never ready.
        {"initialized, never ready", Pod("x", 50, false, 100, 120), false},
        // Unready since 200, after the readiness delay: it had been ready,
        // its CPU counts.
        {"initialized, ready once", Pod("x", 50, false, 100, 200), true},
        // Ready since 130 = 100 + 30: not "never ready" either.
        {"readiness delay boundary", Pod("x", 50, false, 100, 130), true},
    }));

TEST(ProposeMemory, AverageValueAgainstTheTarget) {
  // Target 100 MiB. 2 pods at 150 MiB: 1.5 -> ceil(3) = 3. Readiness does
  // not matter for memory: the second pod is not ready but counts.
  HpaConfig config;
  config.metric = HpaMetric::kMemory;
  config.target = 100;
  const HpaSpec spec = MakeHpaSpec(config);
  constexpr int64_t kMiB = 1024 * 1024;
  HpaPod a = Ready("a", std::nullopt);
  a.memory_bytes = 150 * kMiB;
  HpaPod b = Pod("b", std::nullopt, false, 590, 590);
  b.memory_bytes = 150 * kMiB;
  auto p = ProposeReplicas(config, spec, 2, {kNow, {a, b}}, kNow);
  EXPECT_EQ(p.replicas, 3);
  EXPECT_EQ(p.ready_pods, 2);
  EXPECT_EQ(p.average_value, 150 * kMiB);
  EXPECT_FALSE(p.utilization_percent.has_value());

  // 2 x 10 MiB + 1 missing, current 3: 0.1 < 1, the missing pod counts the
  // target (100 MiB): 120/3 = 40 MiB -> 0.4 -> ceil(1.2) = 2.
  a.memory_bytes = 10 * kMiB;
  b.memory_bytes = 10 * kMiB;
  HpaPod m = Ready("m", 50);  // a CPU value does not stand in for memory
  p = ProposeReplicas(config, spec, 3, {kNow, {a, b, m}}, kNow);
  EXPECT_EQ(p.missing_pods, 1);
  EXPECT_EQ(p.replicas, 2);
  EXPECT_EQ(p.average_value, 10 * kMiB);
}

TEST(ProposeCpu, ReportsUtilizationAndAverage) {
  // 30 + 45 over 200: utilization floor(37.5) = 37; average 75/2 = 37 m.
  const HpaConfig config = Cpu50();
  const auto p =
      ProposeReplicas(config, MakeHpaSpec(config), 2,
                      {kNow, {Ready("a", 30), Ready("b", 45)}}, kNow);
  EXPECT_EQ(p.utilization_percent, 37);
  EXPECT_EQ(p.average_value, 37);
}

TEST(ProposeCpu, HugeRatiosStopAtThePodLimit) {
  HpaConfig config = Cpu50();
  config.target = 1;
  const auto p = ProposeReplicas(config, MakeHpaSpec(config), 1,
                                 {kNow, {Ready("a", 1'000'000'000)}}, kNow);
  EXPECT_EQ(p.replicas, kMaxPodCount);
}

}  // namespace
}  // namespace knbench::autoscaler_model
