#include "knbench/autoscaler_model/hpa_config.h"

#include <limits>

#include "gtest/gtest.h"

namespace knbench::autoscaler_model {
namespace {

TEST(MakeHpaSpec, KnativeDefaults) {
  // No target: no metric in the HPA, so the API's 80 % CPU; min-scale 0 ->
  // minReplicas 1; max-scale 0 -> no limit; no window -> no behavior.
  const HpaSpec spec = MakeHpaSpec(HpaConfig{});
  EXPECT_EQ(spec.metric, HpaMetric::kCpu);
  EXPECT_EQ(spec.target_utilization, 80);
  EXPECT_EQ(spec.min_replicas, 1);
  EXPECT_EQ(spec.max_replicas, std::numeric_limits<int32_t>::max());
  EXPECT_FALSE(spec.behavior.has_value());
}

TEST(MakeHpaSpec, TargetsScaleBoundsAndWindow) {
  HpaConfig c;
  c.target = 70.2;  // averageUtilization = ceil(70.2) = 71
  c.min_scale = 2;
  c.max_scale = 5;
  c.window = absl::Seconds(30);
  HpaSpec spec = MakeHpaSpec(c);
  EXPECT_EQ(spec.target_utilization, 71);
  EXPECT_EQ(spec.min_replicas, 2);
  EXPECT_EQ(spec.max_replicas, 5);
  ASSERT_TRUE(spec.behavior.has_value());
  const ScalingRules& up = spec.behavior->scale_up;
  EXPECT_EQ(up.stabilization_window, absl::Seconds(30));
  EXPECT_EQ(up.select_policy, SelectPolicy::kMax);
  ASSERT_EQ(up.policies.size(), 2u);
  EXPECT_EQ(up.policies[0].type, ScalingPolicyType::kPods);
  EXPECT_EQ(up.policies[0].value, 4);
  EXPECT_EQ(up.policies[0].period, absl::Seconds(15));
  EXPECT_EQ(up.policies[1].type, ScalingPolicyType::kPercent);
  EXPECT_EQ(up.policies[1].value, 100);
  const ScalingRules& down = spec.behavior->scale_down;
  EXPECT_EQ(down.stabilization_window, absl::Seconds(30));
  ASSERT_EQ(down.policies.size(), 1u);
  EXPECT_EQ(down.policies[0].type, ScalingPolicyType::kPercent);
  EXPECT_EQ(down.policies[0].value, 100);
  EXPECT_EQ(down.policies[0].period, absl::Seconds(15));

  // Memory: int64(100.7) = 100 MiB, in milli-bytes.
  c.metric = HpaMetric::kMemory;
  c.target = 100.7;
  spec = MakeHpaSpec(c);
  EXPECT_EQ(spec.metric, HpaMetric::kMemory);
  EXPECT_EQ(spec.target_average_milli, int64_t{100} * 1024 * 1024 * 1000);
  // Memory without a target is the default CPU metric.
  c.target.reset();
  EXPECT_EQ(MakeHpaSpec(c).metric, HpaMetric::kCpu);
}

// Bounds come from the table (hpa_settings_test.cc tests each); the rules
// between settings are here.
TEST(ValidateHpaConfig, NamesTheSetting) {
  HpaConfig c;
  c.cpu_request = 500;
  EXPECT_TRUE(ValidateHpaConfig(c).ok());
  auto message = [&](void (*edit)(HpaConfig&)) {
    HpaConfig bad = c;
    edit(bad);
    return std::string(ValidateHpaConfig(bad).message());
  };
  EXPECT_EQ(message([](HpaConfig& b) { b.cpu_request = 0; }),
            "cpu-request: the cpu metric needs the pods' CPU request in "
            "millicores");
  EXPECT_EQ(message([](HpaConfig& b) { b.tolerance = 1; }),
            "horizontal-pod-autoscaler-tolerance: must be in [0, 1)");
  EXPECT_EQ(message([](HpaConfig& b) {
              b.target = std::numeric_limits<double>::quiet_NaN();
            }),
            "target: must be a finite number");
  EXPECT_EQ(message([](HpaConfig& b) {
              b.metric = HpaMetric::kMemory;
              b.target = 0.5;
            }),
            "target: must be in [1, 262144] for metric memory");
  EXPECT_EQ(message([](HpaConfig& b) { b.window = absl::Seconds(5); }),
            "window: must be whole seconds between 6s and 1h");
  EXPECT_EQ(message([](HpaConfig& b) {
              b.min_scale = 4;
              b.max_scale = 3;
            }),
            "max-scale: must be 0 (unlimited) or at least min-scale");
  EXPECT_EQ(message([](HpaConfig& b) { b.min_scale = -1; }),
            "min-scale: must be at least 0");
  EXPECT_EQ(message([](HpaConfig& b) { b.max_scale = 10001; }),
            "max-scale: must be at most 10000 (the model's pod limit)");
  EXPECT_EQ(message([](HpaConfig& b) { b.sync_period = absl::ZeroDuration(); }),
            "horizontal-pod-autoscaler-sync-period: must be whole "
            "milliseconds between 1s and 1h");
  EXPECT_EQ(message([](HpaConfig& b) {
              b.metric_resolution = absl::Microseconds(1500500);
            }),
            "metric-resolution: must be whole milliseconds between 1s and 1h");
  EXPECT_EQ(message([](HpaConfig& b) {
              b.initial_readiness_delay = absl::Seconds(-1);
            }),
            "horizontal-pod-autoscaler-initial-readiness-delay: must be "
            "between 0s and 24h");
  // Memory with a target needs no CPU request.
  HpaConfig memory;
  memory.metric = HpaMetric::kMemory;
  memory.target = 64;
  EXPECT_TRUE(ValidateHpaConfig(memory).ok());
}

}  // namespace
}  // namespace knbench::autoscaler_model
