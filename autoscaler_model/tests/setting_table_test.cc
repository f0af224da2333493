// The KPA's settings table: each row parses its own printed default, holds
// Knative's defaults and bounds, reads annotations by key and alias, and
// reports where each value came from.
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/autoscaler_model/kpa_settings.h"
#include "knbench/autoscaler_model/manifest.h"
#include "knbench/autoscaler_model/settings_flags.h"
#include "knbench/common/flags.h"
#include "setting_test_util.h"

namespace knbench::autoscaler_model {
namespace {

using ::testing::HasSubstr;

const std::vector<SettingSpec>& Specs() { return KpaSettings().specs(); }

size_t IndexOf(const std::string& name) {
  return knbench::autoscaler_model::IndexOf(Specs(), name);
}

const SettingSpec& Spec(const std::string& name) {
  return Specs()[IndexOf(name)];
}

TEST(SettingTable, EveryDefaultReadsBackFromItsPrintedForm) {
  ExpectDefaultsReadBack(Specs());
}

TEST(SettingTable, NamesAreUniqueAndEveryRowIsDocumented) {
  std::set<std::string> names;
  for (const SettingSpec& spec : Specs()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    EXPECT_EQ(FlagName(spec).find('_'), std::string::npos);
    EXPECT_NE(std::string(spec.help), "") << spec.name;
    if (spec.source == KnativeSource::kAnnotation) {
      EXPECT_THAT(
          SettingHelp(spec),
          HasSubstr(std::string("autoscaling.knative.dev/") + spec.key));
    }
  }
  EXPECT_EQ(names.size(), 22u);
}

TEST(SettingTable, DefaultsAreKnativesAndValid) {
  const KpaConfig c;
  EXPECT_EQ(c.metric, Metric::kConcurrency);
  EXPECT_FALSE(c.target.has_value());
  EXPECT_EQ(c.target_utilization_percentage, 70);
  EXPECT_EQ(c.stable_window, absl::Seconds(60));
  EXPECT_EQ(c.panic_window_percentage, 10);
  EXPECT_EQ(c.panic_threshold_percentage, 200);
  EXPECT_EQ(c.max_scale_up_rate, 1000);
  EXPECT_EQ(c.max_scale_down_rate, 2);
  EXPECT_EQ(c.target_burst_capacity, 211);
  EXPECT_EQ(c.min_scale, 0);
  EXPECT_EQ(c.max_scale, 0);
  EXPECT_EQ(c.initial_scale, 1);
  EXPECT_EQ(c.activation_scale, 1);
  EXPECT_EQ(c.scale_down_delay, absl::ZeroDuration());
  EXPECT_EQ(c.scale_to_zero_grace_period, absl::Seconds(30));
  EXPECT_TRUE(c.enable_scale_to_zero);
  EXPECT_EQ(c.container_concurrency, 0);
  EXPECT_EQ(c.container_concurrency_target_default, 100);
  EXPECT_EQ(c.requests_per_second_target_default, 200);
  EXPECT_EQ(c.aggregation, Aggregation::kLinear);
  EXPECT_TRUE(c.reachable);
  EXPECT_EQ(c.tick_interval, absl::Seconds(2));
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(SettingTable, WriteThenReadGivesTheSameValues) {
  KpaConfig c;
  c.metric = Metric::kRps;
  c.target = 12.5;
  c.stable_window = absl::Seconds(90);
  c.min_scale = 2;
  c.container_concurrency = 8;
  c.aggregation = Aggregation::kWeightedExponential;
  c.reachable = false;
  const std::vector<SettingValue> values = KpaSettings().Read(c);
  KpaConfig copy;
  KpaSettings().Write(values, &copy);
  EXPECT_EQ(KpaSettings().Read(copy), values);
  EXPECT_EQ(copy.metric, Metric::kRps);
  EXPECT_EQ(copy.target, 12.5);
  EXPECT_EQ(copy.aggregation, Aggregation::kWeightedExponential);
  EXPECT_EQ(values[IndexOf("window")], SettingValue(absl::Seconds(90)));
  EXPECT_EQ(values[IndexOf("metric")], SettingValue(std::string("rps")));
}

// Each bound, on both sides, with the message that names Knative's key.
TEST(SettingTable, BoundsAndTheirMessages) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ExpectBounds(
      Specs(),
      {
          {"window", absl::Seconds(6), ""},
          {"window", absl::Hours(1), ""},
          {"window", absl::Seconds(5),
           "window: must be whole seconds between 6s and 1h"},
          {"window", absl::Seconds(3601),
           "window: must be whole seconds between 6s and 1h"},
          {"window", absl::Milliseconds(6500),
           "window: must be whole seconds between 6s and 1h"},
          {"target", SettingValue(), ""},
          {"target", 0.01, ""},
          {"target", 0.009, "target: must be at least 0.01"},
          {"target", nan, "target: must be a finite number"},
          {"target_utilization_percentage", 100.0, ""},
          {"target_utilization_percentage", 100.5,
           "target-utilization-percentage: must be in [1, 100]"},
          {"panic_threshold_percentage", 109.0,
           "panic-threshold-percentage: must be in [110, 1000]"},
          {"max_scale_up_rate", 1.001, ""},
          {"max_scale_up_rate", 1.0,
           "max-scale-up-rate: must be greater than 1"},
          {"max_scale_down_rate", 1.0,
           "max-scale-down-rate: must be greater than 1"},
          {"target_burst_capacity", -1.0, ""},
          {"target_burst_capacity", 0.0, ""},
          {"target_burst_capacity", -0.5,
           "target-burst-capacity: must be -1 or at least 0"},
          {"target_burst_capacity", std::numeric_limits<double>::infinity(),
           "target-burst-capacity: must be a finite number"},
          {"min_scale", int64_t{-1}, "min-scale: must be at least 0"},
          {"min_scale", int64_t{10000}, ""},
          {"min_scale", int64_t{10001},
           "min-scale: must be at most 10000 (the model's pod limit)"},
          {"activation_scale", int64_t{0},
           "activation-scale: must be at least 1"},
          {"container_concurrency", int64_t{1000}, ""},
          {"container_concurrency", int64_t{1001},
           "containerConcurrency: must be in [0, 1000]"},
          {"scale_down_delay", absl::ZeroDuration(), ""},
          {"scale_down_delay", absl::Seconds(-1),
           "scale-down-delay: must be whole seconds between 0s and 1h"},
          {"scale_to_zero_grace_period", absl::Seconds(6), ""},
          {"scale_to_zero_grace_period", absl::Milliseconds(5999),
           "scale-to-zero-grace-period: must be at least 6s"},
          {"tick_interval", absl::Milliseconds(1500),
           "tick-interval: must be whole seconds, at least 1s"},
          {"scale_to_zero_grace_period", absl::InfiniteDuration(),
           "scale-to-zero-grace-period: must be finite"},
          {"requests_per_second_target_default", 0.0,
           "requests-per-second-target-default: must be at least 0.01"},
      });
}

TEST(SettingTable, TextOfEachTypeAndItsErrors) {
  EXPECT_EQ(*ParseSettingText(Spec("window"), "1m30s"),
            SettingValue(absl::Seconds(90)));
  EXPECT_EQ(SettingText(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(SettingText(0.1), "0.1");
  EXPECT_EQ(SettingText(70.0), "70");
  EXPECT_EQ(*ParseSettingText(Spec("enable_scale_to_zero"), "no"),
            SettingValue(false));
  EXPECT_EQ(*ParseSettingText(Spec("metric_aggregation_algorithm"),
                              "weightedExponential"),
            SettingValue(std::string("weighted-exponential")));
  for (const auto& [setting, text, error] :
       std::vector<std::tuple<const char*, const char*, const char*>>{
           {"target", "ten", "not a number"},
           {"min_scale", "2147483648", "not a 32-bit integer"},
           {"container_concurrency", "1.5", "not an integer"},
           {"window", "sixty", "not a duration such as 60s"},
           {"reachable", "maybe", "not true or false"},
           {"metric", "cpu", "must be concurrency or rps"},
           {"metric_aggregation_algorithm", "ewma",
            "must be linear or weighted-exponential"}}) {
    auto parsed = ParseSettingText(Spec(setting), text);
    ASSERT_FALSE(parsed.ok()) << setting;
    EXPECT_EQ(parsed.status().message(), error) << setting;
  }
}

// The scheme is generic: a table over another struct (as the HPA's will
// be), with an optional duration and a 32-bit count.
struct OtherConfig {
  std::optional<absl::Duration> window;
  int32_t pods = 0;
};

TEST(SettingTable, ATableOverAnotherStruct) {
  const SettingTable<OtherConfig> table({
      Field(SettingSpec::Of(SettingType::kDuration, "window")
                .Annotation("window")
                .Within(Bounds::AtLeast(0)),
            &OtherConfig::window),
      Field(SettingSpec::Of(SettingType::kInt32, "pods").Default(int64_t{3}),
            &OtherConfig::pods),
  });
  OtherConfig c;
  table.ApplyDefaults(&c);
  EXPECT_FALSE(c.window.has_value());
  EXPECT_EQ(c.pods, 3);
  ResolvedSettings r = Defaults(table.specs());
  ASSERT_TRUE(ReadManifest(table.specs(),
                           Manifest({{"window", "90s"}, {"target", "5"}}), &r,
                           nullptr)
                  .ok());
  table.Write(r.values, &c);
  EXPECT_EQ(c.window, absl::Seconds(90));
  EXPECT_EQ(r.sources[0], SettingSource::kManifest);
  EXPECT_EQ(table.Read(c)[0], SettingValue(absl::Seconds(90)));
  EXPECT_EQ(table.Read(c)[1], SettingValue(int64_t{3}));
}

TEST(SettingTable, ManifestKeysAliasesAndSources) {
  ManifestSettings m =
      Manifest({{"minScale", "2"},
                {"maxScale", "5"},
                {"initialScale", "0"},
                {"window", "30s"},
                {"metric-aggregation-algorithm", "weightedExponential"},
                {"scale-to-zero-pod-retention-period", "1m"},
                {"class", "kpa.autoscaling.knative.dev"}});
  m.revision_spec["containerConcurrency"] = "4";
  m.revision_spec["timeoutSeconds"] = "300";
  ResolvedSettings r = Defaults(Specs());
  std::vector<std::string> ignored;
  ASSERT_TRUE(ReadManifest(Specs(), m, &r, &ignored).ok());
  KpaConfig c;
  KpaSettings().Write(r.values, &c);
  EXPECT_EQ(c.min_scale, 2);
  EXPECT_EQ(c.max_scale, 5);
  EXPECT_EQ(c.initial_scale, 0);
  EXPECT_EQ(c.stable_window, absl::Seconds(30));
  EXPECT_EQ(c.aggregation, Aggregation::kWeightedExponential);
  EXPECT_EQ(c.container_concurrency, 4);
  EXPECT_EQ(ignored,
            std::vector<std::string>{"autoscaling.knative.dev/"
                                     "scale-to-zero-pod-retention-period"});
  for (size_t i = 0; i < Specs().size(); ++i) {
    const std::string name = Specs()[i].name;
    const bool from_manifest = name == "min_scale" || name == "max_scale" ||
                               name == "initial_scale" || name == "window" ||
                               name == "metric_aggregation_algorithm" ||
                               name == "container_concurrency";
    EXPECT_EQ(r.sources[i], from_manifest ? SettingSource::kManifest
                                          : SettingSource::kDefault)
        << name;
  }
  // Config-map keys are not annotations: an annotation of one is not read.
  r = Defaults(Specs());
  ignored.clear();
  ASSERT_TRUE(
      ReadManifest(Specs(), Manifest({{"tick-interval", "5s"}}), &r, &ignored)
          .ok());
  EXPECT_EQ(r.values[IndexOf("tick_interval")], SettingValue(absl::Seconds(2)));
  EXPECT_EQ(ignored.size(), 1u);
}

TEST(SettingTable, BadManifestValuesNameTheAnnotationOrField) {
  ResolvedSettings r = Defaults(Specs());
  EXPECT_EQ(
      ReadManifest(Specs(), Manifest({{"maxScale", "three"}}), &r, nullptr)
          .message(),
      "manifest annotation autoscaling.knative.dev/maxScale=\"three\": not a "
      "32-bit integer");
  EXPECT_EQ(
      ReadManifest(Specs(), Manifest({{"metric", "cpu"}}), &r, nullptr)
          .message(),
      "manifest annotation autoscaling.knative.dev/metric=\"cpu\": must be "
      "concurrency or rps");
  ManifestSettings m;
  m.revision_spec["containerConcurrency"] = "x";
  EXPECT_EQ(ReadManifest(Specs(), m, &r, nullptr).message(),
            "manifest spec.template.spec.containerConcurrency=\"x\": not an "
            "integer");
}

// Flags over the manifest over the defaults, and where each came from.
TEST(SettingFlagsTest, FlagsWinAndSourcesSaySo) {
  SettingFlags flags;
  const std::string manifest = KPA_FIXTURES_DIR "/worker-service.yaml";
  auto positional =
      knbench::ParseFlags({"--from-manifest", manifest, "--max-scale=4",
                           "--noenable-scale-to-zero", "--target", "0"},
                          nullptr, flags.flags());
  ASSERT_TRUE(positional.ok()) << positional.status();
  auto settings = SettingsFromFlags(flags);
  // --from-manifest is a process-wide flag: leave it as it was.
  ASSERT_TRUE(knbench::ParseFlags({"--from-manifest="}).ok());
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->config.max_scale, 4);
  EXPECT_FALSE(settings->config.enable_scale_to_zero);
  EXPECT_FALSE(settings->config.target.has_value());  // 0 unsets the 10
  EXPECT_EQ(settings->config.min_scale, 1);
  EXPECT_EQ(settings->config.stable_window, absl::Seconds(6));
  const auto source = [&](const char* name) {
    return settings->resolved.sources[IndexOf(name)];
  };
  EXPECT_EQ(source("max_scale"), SettingSource::kFlag);
  EXPECT_EQ(source("target"), SettingSource::kFlag);
  EXPECT_EQ(source("enable_scale_to_zero"), SettingSource::kFlag);
  EXPECT_EQ(source("min_scale"), SettingSource::kManifest);
  EXPECT_EQ(source("window"), SettingSource::kManifest);
  EXPECT_EQ(source("tick_interval"), SettingSource::kDefault);
  EXPECT_EQ(settings->manifest_path, manifest);
}

// Two tables that share setting names (as the HPA's will share target and
// window) give one flag per name, which both read.
TEST(SettingFlagsTest, ASharedNameIsOneFlag) {
  SettingFlags flags({{"a", Specs()}, {"b", Specs()}});
  EXPECT_EQ(flags.flags().size(), Specs().size());
  ASSERT_TRUE(
      knbench::ParseFlags({"--window=30s"}, nullptr, flags.flags()).ok());
  EXPECT_EQ(flags.given().at("window"), "30s");
  EXPECT_EQ(flags.given().size(), 1u);
  EXPECT_EQ(*flags.Given(Spec("window")), SettingValue(absl::Seconds(30)));
  EXPECT_EQ(*flags.Given(Spec("target")), std::nullopt);
}

TEST(SettingFlagsTest, FlagErrorsNameTheFlag) {
  for (const auto& [arg, error] :
       std::vector<std::pair<const char*, const char*>>{
           {"--target=abc", "--target=abc: not a number"},
           {"--metric=p99",
            "--metric=p99: kpa: must be concurrency or rps; hpa: must be "
            "cpu or memory"},
           {"--window=5", "--window=5: not a duration such as 60s"},
           {"--class=vpa", "--class=vpa: must be kpa or hpa"},
           {"--nometric", "unknown flag --nometric"}}) {
    SettingFlags flags;
    auto result = knbench::ParseFlags({arg}, nullptr, flags.flags());
    ASSERT_FALSE(result.ok()) << arg;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(error));
  }
  // In range only once validated, with the Knative key.
  SettingFlags flags;
  ASSERT_TRUE(
      knbench::ParseFlags({"--window=5s"}, nullptr, flags.flags()).ok());
  EXPECT_EQ(SettingsFromFlags(flags).status().message(),
            "invalid setting window: must be whole seconds between 6s and 1h");
  // A value of the other class is the KPA's error, naming the flag.
  SettingFlags cpu;
  ASSERT_TRUE(knbench::ParseFlags({"--metric=cpu"}, nullptr, cpu.flags()).ok());
  EXPECT_EQ(SettingsFromFlags(cpu).status().message(),
            "--metric=cpu: must be concurrency or rps");
}

}  // namespace
}  // namespace knbench::autoscaler_model
