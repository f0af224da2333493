// The HPA class's settings table, and the class choosing between the
// tables: each row parses its own printed default and holds Kubernetes'
// defaults and bounds; names both tables have are one flag that each reads
// with its own meaning; the class comes from the flag, the manifest or the
// default.
#include "knbench/autoscaler_model/hpa_settings.h"

#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/autoscaler_model/kpa_settings.h"
#include "knbench/autoscaler_model/settings_flags.h"
#include "knbench/common/flags.h"
#include "setting_test_util.h"

namespace knbench::autoscaler_model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
  // The KPA's annotation is not the HPA's; the class is neither's.
  EXPECT_THAT(ignored,
              ElementsAre("autoscaling.knative.dev/panic-window-percentage"));
  EXPECT_TRUE(ReadsAnnotation(KpaSettings().specs(), ignored[0]));
  EXPECT_FALSE(ReadsAnnotation(Specs(), ignored[0]));
  // The metric's values are the class's.
  r = Defaults(Specs());
  EXPECT_EQ(
      ReadManifest(Specs(), Manifest({{"metric", "rps"}}), &r, nullptr)
          .message(),
      "manifest annotation autoscaling.knative.dev/metric=\"rps\": must be "
      "cpu or memory");
}

// A test's own --from-manifest file.
std::string WriteManifest(const std::string& name,
                          const std::string& annotations) {
  const std::string path = testing::TempDir() + "/hpa_settings_" + name;
  std::ofstream(path) << "apiVersion: serving.knative.dev/v1\nkind: Service\n"
                         "metadata: {name: w}\nspec:\n  template:\n"
                         "    metadata:\n      annotations: {"
                      << annotations << "}\n";
  return path;
}

// SettingsFromFlags over the setting flags `args`.
absl::StatusOr<FlagSettings> Resolve(const std::vector<std::string>& args) {
  SettingFlags flags;
  auto parsed = knbench::ParseFlags(args, nullptr, flags.flags());
  if (!parsed.ok()) return parsed.status();
  auto settings = SettingsFromFlags(flags);
  // --from-manifest is a process-wide flag: leave it as it was.
  EXPECT_TRUE(knbench::ParseFlags({"--from-manifest="}).ok());
  return settings;
}

const char kHpaFixture[] = KPA_FIXTURES_DIR "/worker-service-hpa.yaml";
const char kKpaFixture[] = KPA_FIXTURES_DIR "/worker-service.yaml";

TEST(AutoscalerClassTest, FromFlagManifestOrDefault) {
  auto kpa = Resolve({});
  ASSERT_TRUE(kpa.ok()) << kpa.status();
  EXPECT_EQ(kpa->autoscaler_class, AutoscalerClass::kKpa);
  EXPECT_EQ(kpa->class_source, SettingSource::kDefault);
  EXPECT_EQ(kpa->resolved.values.size(), KpaSettings().specs().size());

  // The rendered HPA overlay: class, annotations and the CPU request.
  auto hpa = Resolve({"--from-manifest", kHpaFixture});
  ASSERT_TRUE(hpa.ok()) << hpa.status();
  EXPECT_EQ(hpa->autoscaler_class, AutoscalerClass::kHpa);
  EXPECT_EQ(hpa->class_source, SettingSource::kManifest);
  EXPECT_EQ(hpa->resolved.values.size(), Specs().size());
  EXPECT_EQ(hpa->hpa.target, 70);
  EXPECT_EQ(hpa->hpa.min_scale, 1);
  EXPECT_EQ(hpa->hpa.max_scale, 3);
  EXPECT_EQ(hpa->hpa.cpu_request, 500);
  EXPECT_TRUE(hpa->notes.empty());

  // Flags win: the class by its full name too, and the CPU request.
  auto flags = Resolve({"--from-manifest", kHpaFixture, "--cpu-request=250",
                        "--class=hpa.autoscaling.knative.dev"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->class_source, SettingSource::kFlag);
  EXPECT_EQ(flags->hpa.cpu_request, 250);
  EXPECT_EQ(flags->resolved.sources[IndexOf(Specs(), "cpu_request")],
            SettingSource::kFlag);
  auto chosen = Resolve({"--class", "hpa", "--cpu-request=100"});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->autoscaler_class, AutoscalerClass::kHpa);

  // --class=kpa over the HPA manifest reads its annotations as the KPA's.
  EXPECT_EQ(Resolve({"--from-manifest", kHpaFixture, "--class=kpa"})
                .status()
                .message(),
            std::string(kHpaFixture) +
                ": manifest annotation autoscaling.knative.dev/metric=\"cpu\": "
                "must be concurrency or rps");
  // And the KPA manifest as the HPA's.
  EXPECT_THAT(
      std::string(Resolve({"--from-manifest", kKpaFixture, "--class=hpa"})
                      .status()
                      .message()),
      HasSubstr("metric=\"concurrency\": must be cpu or memory"));
  const std::string other = WriteManifest(
      "vpa.yaml", "autoscaling.knative.dev/class: vpa.autoscaling.knative.dev");
  EXPECT_EQ(Resolve({"--from-manifest", other}).status().message(),
            other +
                ": manifest annotation autoscaling.knative.dev/class=\"vpa."
                "autoscaling.knative.dev\": must be kpa or hpa");
}

// A shared name is one flag; each class reads it with its own values,
// bounds and unset value.
TEST(AutoscalerClassTest, SharedFlagsReadByEachClass) {
  SettingFlags flags;
  std::set<std::string> names;
  for (const knbench::TableFlag& flag : flags.flags()) {
    EXPECT_TRUE(names.insert(flag.name).second) << flag.name;
  }
  // The class, the KPA's 22 and the HPA's 12, five of them shared.
  EXPECT_EQ(names.size(), 1u + 22u + 12u - 5u);
  for (const knbench::TableFlag& flag : flags.flags()) {
    if (flag.name == "metric") {
      EXPECT_EQ(flag.default_text, "kpa: \"concurrency\", hpa: \"cpu\"");
      EXPECT_THAT(flag.help,
                  HasSubstr("autoscaling.knative.dev/metric: [kpa] "));
      EXPECT_THAT(flag.help, HasSubstr(" [hpa] what the HPA scales on"));
    }
    if (flag.name == "min_scale") {
      EXPECT_EQ(flag.default_text, "0");
    }
    if (flag.name == "horizontal_pod_autoscaler_tolerance") {
      EXPECT_THAT(flag.help, HasSubstr("[hpa] kube-controller-manager"));
    }
  }
  ASSERT_TRUE(knbench::ParseFlags({"--window=0", "--target=2e6"}, nullptr,
                                  flags.flags())
                  .ok());
  const auto& kpa = KpaSettings().specs();
  EXPECT_EQ(*flags.Given(Specs()[IndexOf(Specs(), "window")]),
            SettingValue());  // unset: no behavior
  EXPECT_EQ(*flags.Given(kpa[IndexOf(kpa, "window")]),
            SettingValue(absl::ZeroDuration()));  // out of the KPA's bounds
  EXPECT_EQ(Resolve({"--window=0"}).status().message(),
            "invalid setting window: must be whole seconds between 6s and 1h");
  EXPECT_TRUE(Resolve({"--class=hpa", "--cpu-request=1", "--window=0"}).ok());
  // A target of 2e6 is a KPA target, not an HPA one.
  EXPECT_TRUE(Resolve({"--target=2e6"}).ok());
  EXPECT_EQ(Resolve({"--class=hpa", "--cpu-request=1", "--target=2e6"})
                .status()
                .message(),
            "invalid setting target: must be in [0.01, 1000000]");
  EXPECT_EQ(Resolve({"--class=hpa", "--metric=memory", "--target=0.5"})
                .status()
                .message(),
            "invalid setting target: must be in [1, 262144] for metric memory");
  EXPECT_EQ(Resolve({"--class=hpa"}).status().message(),
            "invalid setting cpu-request: the cpu metric needs the pods' CPU "
            "request in millicores");
}

// What the class leaves aside is said once each, not refused.
TEST(AutoscalerClassTest, NotesForTheOtherClassAndUnknownKeys) {
  const std::string manifest =
      WriteManifest("notes.yaml",
                    "autoscaling.knative.dev/class: hpa.autoscaling.knative."
                    "dev, autoscaling.knative.dev/panic-window-percentage: "
                    "\"20\", autoscaling.knative.dev/no-such-key: \"1\"");
  auto s = Resolve(
      {"--from-manifest", manifest, "--cpu-request=500", "--tick-interval=4s"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(
      s->notes,
      ElementsAre(manifest + ": autoscaling.knative.dev/no-such-key is not "
                             "modelled; ignored",
                  manifest +
                      ": autoscaling.knative.dev/panic-window-percentage is "
                      "not modelled for the hpa class; ignored",
                  "--tick-interval is not a setting of the hpa class; "
                  "ignored"));
  auto kpa = Resolve({"--metric-resolution=30s"});
  ASSERT_TRUE(kpa.ok()) << kpa.status();
  EXPECT_THAT(kpa->notes,
              ElementsAre("--metric-resolution is not a setting of the kpa "
                          "class; ignored"));
}

}  // namespace
}  // namespace knbench::autoscaler_model
