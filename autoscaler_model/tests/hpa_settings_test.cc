// The HPA class's settings table: each row parses its own printed default
// and holds Knative's and Kubernetes' defaults and bounds, and reads the
// manifest's annotations and CPU request.
#include "knbench/autoscaler_model/hpa_settings.h"

#include <limits>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "setting_test_util.h"

namespace knbench::autoscaler_model {
namespace {

using ::testing::ElementsAre;

const std::vector<SettingSpec>& Specs() { return HpaSettings().specs(); }

TEST(HpaSettings, EveryDefaultReadsBackFromItsPrintedForm) {
  ExpectDefaultsReadBack(Specs());
}

TEST(HpaSettings, RowsAndDefaults) {
  std::vector<std::string> names;
  for (const SettingSpec& spec : Specs()) {
    names.push_back(spec.name);
    EXPECT_NE(std::string(spec.help), "") << spec.name;
  }
  EXPECT_THAT(
      names, ElementsAre("metric", "target", "min_scale", "max_scale", "window",
                         "horizontal_pod_autoscaler_sync_period",
                         "horizontal_pod_autoscaler_tolerance",
                         "horizontal_pod_autoscaler_cpu_initialization_period",
                         "horizontal_pod_autoscaler_initial_readiness_delay",
                         "horizontal_pod_autoscaler_downscale_stabilization",
                         "metric_resolution", "cpu_request"));
  // Knative's HPA class and kube-controller-manager's, metrics-server's
  // defaults.
  const HpaConfig c;
  EXPECT_EQ(c.metric, HpaMetric::kCpu);
  EXPECT_FALSE(c.target.has_value());
  EXPECT_EQ(c.min_scale, 0);
  EXPECT_EQ(c.max_scale, 0);
  EXPECT_FALSE(c.window.has_value());
  EXPECT_EQ(c.sync_period, absl::Seconds(15));
  EXPECT_EQ(c.tolerance, 0.1);
  EXPECT_EQ(c.cpu_initialization_period, absl::Minutes(5));
  EXPECT_EQ(c.initial_readiness_delay, absl::Seconds(30));
  EXPECT_EQ(c.downscale_stabilization, absl::Minutes(5));
  EXPECT_EQ(c.metric_resolution, absl::Seconds(15));
  EXPECT_EQ(c.cpu_request, 0);
  // Where each is read, for --help.
  EXPECT_EQ(SettingOrigin(Specs()[IndexOf(Specs(), "min_scale")]),
            "autoscaling.knative.dev/min-scale (also minScale)");
  EXPECT_EQ(
      SettingOrigin(
          Specs()[IndexOf(Specs(), "horizontal_pod_autoscaler_tolerance")]),
      "kube-controller-manager --horizontal-pod-autoscaler-tolerance");
  EXPECT_EQ(SettingOrigin(Specs()[IndexOf(Specs(), "metric_resolution")]),
            "metrics-server --metric-resolution");
  EXPECT_EQ(SettingOrigin(Specs()[IndexOf(Specs(), "cpu_request")]),
            "spec.template.spec.containers[0].resources.requests.cpu");
}

// Each bound, on both sides, with the message that names the setting.
TEST(HpaSettings, BoundsAndTheirMessages) {
  const double inf = std::numeric_limits<double>::infinity();
  ExpectBounds(
      Specs(),
      {
          {"target", SettingValue(), ""},
          {"target", 0.01, ""},
          {"target", 0.009, "target: must be in [0.01, 1000000]"},
          {"target", 1e6, ""},
          {"target", 1000000.5, "target: must be in [0.01, 1000000]"},
          {"target", inf, "target: must be a finite number"},
          {"min_scale", int64_t{0}, ""},
          {"min_scale", int64_t{-1}, "min-scale: must be at least 0"},
          {"max_scale", int64_t{10000}, ""},
          {"max_scale", int64_t{10001},
           "max-scale: must be at most 10000 (the model's pod limit)"},
          {"window", SettingValue(), ""},
          {"window", absl::Seconds(6), ""},
          {"window", absl::Seconds(5),
           "window: must be whole seconds between 6s and 1h"},
          {"window", absl::Milliseconds(6500),
           "window: must be whole seconds between 6s and 1h"},
          {"horizontal_pod_autoscaler_sync_period", absl::Seconds(1), ""},
          {"horizontal_pod_autoscaler_sync_period", absl::Milliseconds(1500),
           ""},
          {"horizontal_pod_autoscaler_sync_period", absl::Milliseconds(999),
           "horizontal-pod-autoscaler-sync-period: must be whole "
           "milliseconds between 1s and 1h"},
          {"horizontal_pod_autoscaler_sync_period", absl::Microseconds(1000500),
           "horizontal-pod-autoscaler-sync-period: must be whole "
           "milliseconds between 1s and 1h"},
          {"horizontal_pod_autoscaler_sync_period", absl::Seconds(3601),
           "horizontal-pod-autoscaler-sync-period: must be whole "
           "milliseconds between 1s and 1h"},
          {"horizontal_pod_autoscaler_tolerance", 0.0, ""},
          {"horizontal_pod_autoscaler_tolerance", 0.999, ""},
          {"horizontal_pod_autoscaler_tolerance", 1.0,
           "horizontal-pod-autoscaler-tolerance: must be in [0, 1)"},
          {"horizontal_pod_autoscaler_tolerance", -0.01,
           "horizontal-pod-autoscaler-tolerance: must be in [0, 1)"},
          {"horizontal_pod_autoscaler_cpu_initialization_period",
           absl::ZeroDuration(), ""},
          {"horizontal_pod_autoscaler_cpu_initialization_period",
           absl::Hours(24), ""},
          {"horizontal_pod_autoscaler_cpu_initialization_period",
           absl::Hours(24) + absl::Seconds(1),
           "horizontal-pod-autoscaler-cpu-initialization-period: must be "
           "between 0s and 24h"},
          {"horizontal_pod_autoscaler_initial_readiness_delay",
           absl::Seconds(-1),
           "horizontal-pod-autoscaler-initial-readiness-delay: must be "
           "between 0s and 24h"},
          {"horizontal_pod_autoscaler_downscale_stabilization",
           absl::InfiniteDuration(),
           "horizontal-pod-autoscaler-downscale-stabilization: must be "
           "finite"},
          {"metric_resolution", absl::Hours(1), ""},
          {"metric_resolution", absl::Milliseconds(500),
           "metric-resolution: must be whole milliseconds between 1s and 1h"},
          {"cpu_request", int64_t{1000000}, ""},
          {"cpu_request", int64_t{1000001},
           "cpu-request: must be in [0, 1000000]"},
          {"cpu_request", int64_t{-1}, "cpu-request: must be in [0, 1000000]"},
      });
}

TEST(HpaSettings, ManifestAnnotationsAndResources) {
  ManifestSettings m = Manifest({{"metric", "memory"},
                                 {"target", "64"},
                                 {"minScale", "2"},
                                 {"window", "1m"},
                                 {"panic-window-percentage", "20"},
                                 {"class", "hpa.autoscaling.knative.dev"}});
  m.resources.cpu_request_millicores = 250;
  m.revision_spec["containerConcurrency"] = "4";
  ResolvedSettings r = Defaults(Specs());
  std::vector<std::string> ignored;
  ASSERT_TRUE(ReadManifest(Specs(), m, &r, &ignored).ok());
  HpaConfig c;
  HpaSettings().Write(r.values, &c);
  EXPECT_EQ(c.metric, HpaMetric::kMemory);
  EXPECT_EQ(c.target, 64);
  EXPECT_EQ(c.min_scale, 2);
  EXPECT_EQ(c.window, absl::Minutes(1));
  EXPECT_EQ(c.cpu_request, 250);
  EXPECT_EQ(r.sources[IndexOf(Specs(), "cpu_request")],
            SettingSource::kManifest);
  EXPECT_EQ(r.sources[IndexOf(Specs(), "max_scale")], SettingSource::kDefault);
  // The KPA's annotation is not the HPA's.
  EXPECT_THAT(ignored,
              ElementsAre("autoscaling.knative.dev/panic-window-percentage"));
  // The metric's values are the class's.
  r = Defaults(Specs());
  EXPECT_EQ(
      ReadManifest(Specs(), Manifest({{"metric", "rps"}}), &r, nullptr)
          .message(),
      "manifest annotation autoscaling.knative.dev/metric=\"rps\": must be "
      "cpu or memory");
}

}  // namespace
}  // namespace knbench::autoscaler_model
