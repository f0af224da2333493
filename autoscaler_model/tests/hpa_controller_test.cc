// Whole syncs: Kubernetes' reconcileAutoscaler around the calculator and
// the normalization, and the decision rows. Settings of hpa_test_pods.h
// (CPU request 100 m, target 50 %); pods started long before, so their CPU
// counts.
#include "knbench/autoscaler_model/hpa_controller.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "hpa_test_pods.h"

namespace knbench::autoscaler_model {
namespace {

HpaSample Uniform(int64_t t, int n, std::optional<int64_t> cpu) {
  HpaSample s{absl::Seconds(t), {}};
  for (int i = 0; i < n; ++i) {
    s.pods.push_back(Pod(absl::StrCat("p", i), cpu, true, -600, -600));
  }
  return s;
}

HpaRow SyncAt(HpaController& hpa, int64_t t, int n,
              std::optional<int64_t> cpu) {
  return hpa.Sync(absl::Seconds(t), Uniform(t, n, cpu));
}

TEST(HpaController, CurrentAboveMaxScalesToMaxWithoutMetrics) {
  HpaConfig c = Cpu50();
  c.max_scale = 3;
  HpaController hpa(c, 5);
  const HpaRow row = SyncAt(hpa, 0, 5, 50);
  EXPECT_EQ(row.desired_pods, 3);
  EXPECT_EQ(row.current_pods, 5);
  EXPECT_EQ(row.calculation, HpaCalculation::kAboveMax);
  EXPECT_FALSE(row.recommendation.has_value());
  EXPECT_EQ(hpa.scale(), 3);
}

TEST(HpaController, CurrentBelowMinScalesToMin) {
  HpaConfig c = Cpu50();
  c.min_scale = 2;
  HpaController hpa(c, 1);
  const HpaRow row = SyncAt(hpa, 0, 1, 0);
  EXPECT_EQ(row.desired_pods, 2);
  EXPECT_EQ(row.calculation, HpaCalculation::kBelowMin);
  EXPECT_EQ(row.limit, HpaLimit::kMin);
}

TEST(HpaController, ZeroReplicasDisableAutoscaling) {
  HpaController hpa(Cpu50(), 0);
  const HpaRow row = SyncAt(hpa, 0, 0, 0);
  EXPECT_EQ(row.desired_pods, 0);
  EXPECT_EQ(row.calculation, HpaCalculation::kDisabled);
}

TEST(HpaController, SyncWithoutMetricsRecordsNothing) {
  // Downscale stabilization 30 s, created over 2 pods (recorded at 0).
  //  0: 2 x 100: ratio 2 -> 4; max(4, 2@0) = 4, limit max(4, 4): 4.
  // 15: no metric: an error, nothing recorded, the scale stays.
  // 30: 4 x 10: 0.2 -> 1; 2@0 and 4@0 are a window old and count: 4.
  // 45: only 1@30 is in [15, 45]: 1. (Had the failed sync recorded
  //     anything at 15 it would still count here.)
  HpaConfig c = Cpu50();
  c.downscale_stabilization = absl::Seconds(30);
  HpaController hpa(c, 2);
  EXPECT_EQ(SyncAt(hpa, 0, 2, 100).desired_pods, 4);
  const HpaRow failed = SyncAt(hpa, 15, 4, std::nullopt);
  EXPECT_EQ(failed.calculation, HpaCalculation::kNoMetrics);
  EXPECT_EQ(failed.missing_pods, 4);
  EXPECT_EQ(failed.desired_pods, 4);
  EXPECT_FALSE(failed.recommendation.has_value());
  EXPECT_EQ(SyncAt(hpa, 30, 4, 10).desired_pods, 4);
  EXPECT_EQ(SyncAt(hpa, 45, 4, 10).desired_pods, 1);
}

TEST(HpaController, FirstSyncRecordsTheCurrentReplicas) {
  // Created over 4 idle pods: 0.0 -> 0 pods proposed, but the initial
  // recommendation 4 holds the scale for the downscale stabilization.
  HpaController hpa(Cpu50(), 4);
  const HpaRow row = SyncAt(hpa, 0, 4, 0);
  EXPECT_EQ(row.recommendation, 0);
  EXPECT_EQ(row.stabilized, 4);
  EXPECT_EQ(row.desired_pods, 4);
}

TEST(HpaController, WindowAnnotationStabilizesScaleUpToo) {
  // window 30 s -> behavior with 30 s both ways. Created over 2 pods, load
  // asks for 4 from the start.
  //  0: up = min(4, 2@0) = 2: 2.   15: min(4, 2@0, 4@0) = 2: 2.
  // 30: 2@0 and 4@0 are not newer than 0: min(4, 4@15) = 4; policies from 2
  //     allow max(2 + 4, 2 x 2) = 6: 4.
  HpaConfig c = Cpu50();
  c.window = absl::Seconds(30);
  HpaController hpa(c, 2);
  EXPECT_EQ(SyncAt(hpa, 0, 2, 100).desired_pods, 2);
  EXPECT_EQ(SyncAt(hpa, 15, 2, 100).desired_pods, 2);
  EXPECT_EQ(SyncAt(hpa, 30, 2, 100).desired_pods, 4);
}

TEST(HpaController, RowsFormatExactly) {
  // Created over 8 pods with max-scale 5.
  //  0: above max: 5, nothing measured.
  // 15: 5 x 10: 0.2 -> ceil(1.0) = 1; the initial 8@0 stabilizes to 8;
  //     max 5 (below the scale-up limit 10) cuts it to 5.
  HpaConfig c = Cpu50();
  c.max_scale = 5;
  HpaController hpa(c, 8);
  std::vector<HpaRow> rows = {SyncAt(hpa, 0, 8, 10)};
  rows.push_back(hpa.Sync(absl::Milliseconds(15250), Uniform(15, 5, 10)));
  EXPECT_EQ(FormatHpaDecisionsCsv(rows),
            "time_s,desired_pods,current_pods,utilization_percent,"
            "average_value,ready_pods,unready_pods,missing_pods,calculation,"
            "recommendation,stabilized,limited_by\n"
            "0,5,8,,,0,0,0,above-max,,,max\n"
            "15.25,5,5,10,10,5,0,0,scale,1,8,stabilization+max\n");
}

}  // namespace
}  // namespace knbench::autoscaler_model
