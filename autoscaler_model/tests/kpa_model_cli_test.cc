// Runs the real kpa_model binary on small fixtures: the KPA's replay and
// --check-config.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kpa_model_cli_util.h"
#include "nlohmann/json.hpp"

namespace knbench::autoscaler_model::cli_test {
namespace {

constexpr char kHeader[] =
    "time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,"
    "excess_burst_capacity,activator_in_path,decider_pods,poke";

std::string WritePlain(const std::string& name, int seconds, double value) {
  const std::string path = Scratch(name);
  std::ofstream f(path);
  f << "time_s,value\n";
  for (int s = 0; s < seconds; ++s) f << s << "," << value << "\n";
  return path;
}

TEST(KpaModelCli, DriverCsvConcurrency) {
  // driver-small.csv rebuilds concurrency {1.3, 1.5, 0.6} over 3 s, so one
  // tick at t=2: stable = panic = (1.3+1.5)/2 = 1.4. Target 1 at 100 %:
  // ceil(1.4) = 2 pods; 1 ready -> 2/1 >= 2: panic. EBC = floor(1*1 - 211 -
  // 1.4) = -212 -> activator in the path.
  const CliResult r =
      RunModel({"--input", KPA_FIXTURES_DIR "/driver-small.csv", "--target",
                "1", "--target-utilization-percentage=100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{
                              kHeader, "2,2,1,1,1.400,1.400,-212,1,2,0"}));
}

TEST(KpaModelCli, DriverCsvRpsToFile) {
  // rps {2, 0, 1}: t=2 sees (2+0)/2 = 1 -> 1 pod, no panic; EBC =
  // floor(1 - 211 - 1) = -211.
  const std::string out = Scratch("model.csv");
  const CliResult r = RunModel({"--input", KPA_FIXTURES_DIR "/driver-small.csv",
                                "--output", out, "--metric", "rps", "--target",
                                "1", "--target-utilization-percentage", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Lines(Slurp(out)), (std::vector<std::string>{
                                   kHeader, "2,1,1,0,1.000,1.000,-211,1,1,0"}));
}

// Excess burst capacity is an int32 (Knative's type): a load of 3e9 in
// flight takes it below -2^31, where it stays at -2147483648. The rows keep
// that value (live runs write the same), and stderr says it is a floor.
TEST(KpaModelCli, SaturatedExcessBurstCapacityIsSaidOnStderr) {
  const std::string huge = WritePlain("huge.csv", 4, 3e9);
  const CliResult r = RunModel({"--input", huge});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 3u);  // the header, ticks at t=2 and t=4
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_NE(rows[i].find(",-2147483648,"), std::string::npos) << rows[i];
  }
  EXPECT_EQ(Lines(r.err),
            (std::vector<std::string>{
                "kpa_model: note: excess_burst_capacity is -2147483648, the "
                "least an int32 holds (Knative's type), in 2 of 2 rows from "
                "t=2s: the true value is lower there"}));
  // A load whose capacity fits says nothing.
  const CliResult fits = RunModel({"--input", WritePlain("fits.csv", 4, 3e6)});
  ASSERT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_EQ(fits.err, "");
}

TEST(KpaModelCli, ManifestSettingsAndFlagOverride) {
  // Fixture manifest: target 10 at 100 %, window 6s, min 1, max 3, TBC 0.
  // 50 in flight: 5 pods wanted (panic, 5/1 >= 2), capped to max-scale 3.
  const std::string input = WritePlain("fifty.csv", 6, 50);
  const std::string manifest = KPA_FIXTURES_DIR "/worker-service.yaml";
  CliResult r = RunModel({"--input", input, "--from-manifest", manifest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "2,3,1,1,50.000,50.000,0,0,5,0");
  // An explicit flag beats the manifest: max-scale 4.
  r = RunModel(
      {"--from-manifest", manifest, "--max-scale", "4", "--input", input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "2,4,1,1,50.000,50.000,0,0,5,0");
}

TEST(KpaModelCli, ExtendShowsScaleToZero) {
  // Defaults, no traffic: 1 pod active from t=2; idle a stable window
  // (60 s) -> inactive at t=62. TBC 211 keeps EBC negative (1*100 - 211),
  // so the activator has been in the path since second 0, longer than the
  // 30 s grace: Knative's fast path scales to zero at once, at t=62.
  const std::string input = WritePlain("idle.csv", 2, 0);
  const CliResult r = RunModel({"--input", input, "--extend", "100s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 52u);  // header + ticks 2..102
  EXPECT_EQ(lines[30], "60,1,1,0,0.000,0.000,-111,1,0,0");
  EXPECT_EQ(lines[31], "62,0,1,0,0.000,0.000,-111,1,0,0");
  EXPECT_EQ(lines[32], "64,0,0,0,0.000,0.000,-211,1,0,0");
  EXPECT_EQ(lines[51], "102,0,0,0,0.000,0.000,-211,1,0,0");
}

TEST(KpaModelCli, BadFlagsAndInputExitTwoWithOneLine) {
  const std::string input = WritePlain("ok.csv", 4, 1);
  const std::vector<std::vector<std::string>> bad = {
      {"--input", input, "--no-such-flag=1"},
      {"--input", input, "--target", "abc"},
      {"--input", input, "--metric", "cpu"},
      {"--input", input, "--window", "5s"},
      {"--input", input, "--max-scale-down-rate", "1"},
      {"--input", "/nonexistent/run.csv"},
      {"--input", KPA_FIXTURES_DIR "/worker-service.yaml"},
      {"--input", input, "--from-manifest", "/nonexistent.yaml"},
      {"--input", input, "--from-manifest",
       KPA_FIXTURES_DIR "/driver-small.csv"},
      // Endless: read up to the size limit only, then refused.
      {"--input", input, "--from-manifest", "/dev/zero"},
      {},
  };
  for (const auto& args : bad) {
    const CliResult r = RunModel(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_EQ(Lines(r.err).size(), 1u) << joined << ": " << r.err;
    EXPECT_EQ(r.err.rfind("kpa_model: ", 0), 0u) << r.err;
  }
}

// Pod counts that would take gigabytes and non-finite numbers, from flags
// or from a manifest, are refused by name before any work.
TEST(KpaModelCli, HugeOrNonFiniteSettingsAreRefusedByName) {
  const std::string input = WritePlain("ok.csv", 4, 1);
  const std::string manifest = Scratch("huge.yaml");
  {
    std::ofstream f(manifest);
    f << "apiVersion: serving.knative.dev/v1\nkind: Service\n"
         "metadata:\n  name: w\nspec:\n  template:\n    metadata:\n"
         "      annotations:\n"
         "        autoscaling.knative.dev/min-scale: \"2147483647\"\n";
  }
  const std::string inf_manifest = Scratch("inf.yaml");
  {
    std::ofstream f(inf_manifest);
    f << "apiVersion: serving.knative.dev/v1\nkind: Service\n"
         "metadata:\n  name: w\nspec:\n  template:\n    metadata:\n"
         "      annotations: {autoscaling.knative.dev/target: \"inf\"}\n";
  }
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--min-scale", "2147483647"}, "min-scale"},
      {{"--initial-scale", "2000000000"}, "initial-scale"},
      {{"--max-scale", "10001"}, "max-scale"},
      {{"--target", "inf"}, "target"},
      {{"--target-burst-capacity", "nan"}, "target-burst-capacity"},
      {{"--from-manifest", manifest}, "min-scale"},
      {{"--from-manifest", inf_manifest}, "target"},
  };
  for (const auto& [args, setting] : bad) {
    std::vector<std::string> full = {"--input", input};
    full.insert(full.end(), args.begin(), args.end());
    const CliResult r = RunModel(full);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1];
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("invalid setting " + setting + ":"), std::string::npos)
        << r.err;
  }
}

TEST(KpaModelCli, HelpDocumentsEverySetting) {
  const CliResult r = RunModel({"--help"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--input", "--output", "--from-manifest", "--metric", "--target ",
        "--target-utilization-percentage", "--window",
        "--panic-window-percentage", "--panic-threshold-percentage",
        "--max-scale-up-rate", "--max-scale-down-rate",
        "--target-burst-capacity", "--min-scale", "--max-scale",
        "--initial-scale", "--scale-down-delay", "--scale-to-zero-grace-period",
        "--container-concurrency", "--pod-start-delay"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST(KpaModelCli, ReadsTheRealWorkerManifest) {
  // deploy/base/worker/knative-service.yaml: KPA, concurrency, target 10,
  // min-scale 0, max-scale 3, other settings default (utilisation 70 %,
  // TBC 211). 25 in flight: ceil(25 / 7) = 4 pods, panic (4/1 >= 2), capped
  // at 3; EBC = floor(1*10 - 211 - 25) = -226. t=4: 3 ready, still panic
  // (4/3 < 2 but within a window of t=2), 4 -> 3; EBC = floor(30-211-25) =
  // -206.
  const std::string path = std::string(KNBENCH_SOURCE_DIR) +
                           "/deploy/base/worker/knative-service.yaml";
  ASSERT_TRUE(std::ifstream(path).good()) << path;
  const std::string input = WritePlain("real.csv", 4, 25);
  const CliResult r = RunModel({"--input", input, "--from-manifest", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{
                              kHeader, "2,3,1,1,25.000,25.000,-226,1,4,0",
                              "4,3,3,1,25.000,25.000,-206,1,4,0"}));
}

constexpr const char* kSettingKeys[] = {"class",
                                        "metric",
                                        "target",
                                        "target_utilization_percentage",
                                        "window",
                                        "panic_window_percentage",
                                        "panic_threshold_percentage",
                                        "max_scale_up_rate",
                                        "max_scale_down_rate",
                                        "target_burst_capacity",
                                        "min_scale",
                                        "max_scale",
                                        "initial_scale",
                                        "activation_scale",
                                        "scale_down_delay",
                                        "scale_to_zero_grace_period",
                                        "enable_scale_to_zero",
                                        "container_concurrency",
                                        "container_concurrency_target_default",
                                        "requests_per_second_target_default",
                                        "metric_aggregation_algorithm",
                                        "reachable",
                                        "tick_interval"};

TEST(KpaModelCheckConfig, DefaultsAsJsonWithoutInput) {
  const nlohmann::json j = CheckConfig({});
  EXPECT_EQ(j["program"], "kpa_model");
  EXPECT_EQ(j["class"], "kpa");
  const nlohmann::json& s = j["settings"];
  for (const char* key : kSettingKeys) {
    EXPECT_TRUE(s.contains(key)) << key;
    EXPECT_EQ(j["sources"][key], "default") << key;
  }
  EXPECT_EQ(s.size(), std::size(kSettingKeys));
  EXPECT_EQ(j["sources"].size(), std::size(kSettingKeys));
  // Unset target: the metric's default applies (100 x 70 %).
  EXPECT_TRUE(s["target"].is_null());
  EXPECT_EQ(j["derived"]["total_target"], 100.0);
  EXPECT_EQ(j["derived"]["target_per_pod"], 70.0);
  EXPECT_EQ(s["metric"], "concurrency");
  EXPECT_EQ(s["window"], "1m");
  EXPECT_EQ(s["scale_to_zero_grace_period"], "30s");
  EXPECT_EQ(s["tick_interval"], "2s");
  EXPECT_EQ(s["enable_scale_to_zero"], true);
  EXPECT_TRUE(s["min_scale"].is_number_integer());
  EXPECT_EQ(s["initial_scale"], 1);
  EXPECT_EQ(s["target_burst_capacity"], 211.0);
  EXPECT_TRUE(j["manifest"].is_null());
  EXPECT_EQ(j["model"]["input"], "");
  EXPECT_EQ(j["model"]["pod_start_delay"], "2s");
}

TEST(KpaModelCheckConfig, SourcesSayWhereEachValueCameFrom) {
  // The fixture manifest sets target 10 at 100 %, window 6s, minScale 1,
  // max-scale 3, TBC 0; the flags override max-scale and window.
  const nlohmann::json j = CheckConfig(
      {"--from-manifest", KPA_FIXTURES_DIR "/worker-service.yaml",
       "--max-scale=4", "--window", "1m30s", "--noenable-scale-to-zero"});
  const nlohmann::json& s = j["settings"];
  const nlohmann::json& src = j["sources"];
  EXPECT_EQ(s["max_scale"], 4);
  EXPECT_EQ(src["max_scale"], "flag");
  EXPECT_EQ(s["window"], "1m30s");
  EXPECT_EQ(src["window"], "flag");
  EXPECT_EQ(s["enable_scale_to_zero"], false);
  EXPECT_EQ(src["enable_scale_to_zero"], "flag");
  EXPECT_EQ(s["target"], 10.0);
  EXPECT_EQ(src["target"], "manifest");
  EXPECT_EQ(s["min_scale"], 1);  // the legacy minScale spelling
  EXPECT_EQ(src["min_scale"], "manifest");
  EXPECT_EQ(src["container_concurrency"], "manifest");
  EXPECT_EQ(src["panic_threshold_percentage"], "default");
  EXPECT_EQ(j["derived"]["target_per_pod"], 10.0);
  EXPECT_EQ(j["manifest"]["path"], KPA_FIXTURES_DIR "/worker-service.yaml");
  EXPECT_EQ(j["manifest"]["service"], "worker");
  EXPECT_EQ(j["manifest"]["namespace"], "default");
  EXPECT_EQ(j["manifest"]["ignored"],
            nlohmann::json::array(
                {"autoscaling.knative.dev/scale-to-zero-pod-retention-"
                 "period"}));
  // --target 0 unsets the manifest's target: null, from the flag.
  const nlohmann::json unset =
      CheckConfig({"--from-manifest", KPA_FIXTURES_DIR "/worker-service.yaml",
                   "--target", "0"});
  EXPECT_TRUE(unset["settings"]["target"].is_null());
  EXPECT_EQ(unset["sources"]["target"], "flag");
}

TEST(KpaModelCheckConfig, EverySettingRoundTripsAsFlags) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {},
           {"--from-manifest", KPA_FIXTURES_DIR "/worker-service.yaml"},
           {"--metric=rps", "--target=12.5", "--window=1m30s",
            "--scale-down-delay=2m", "--tick-interval=3s",
            "--metric-aggregation-algorithm=weightedExponential",
            "--reachable=false", "--noenable-scale-to-zero",
            "--target-burst-capacity=-1", "--container-concurrency=8",
            "--max-scale-up-rate=2.75", "--panic-window-percentage=12.5"}}) {
    const nlohmann::json first = CheckConfig(flags);
    const nlohmann::json again = CheckConfig(AsFlags(first["settings"]));
    EXPECT_EQ(again["settings"], first["settings"]) << first.dump();
    for (const auto& [key, value] : first["settings"].items()) {
      EXPECT_EQ(again["sources"][key], value.is_null() ? "default" : "flag");
    }
  }
}

TEST(KpaModelCheckConfig, TextListsEverySetting) {
  const CliResult r = RunModel({"--check-config", "--window=6s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ExpectEachKeyOnce(lines, kSettingKeys);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "window=6s"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "target="), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "target_per_pod=70"),
            lines.end());
}

TEST(KpaModelCheckConfig, BadSettingsOrFormatExitTwoWithOneLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--check-config", "--format=json", "--window=5s"},
           {"--check-config", "--format=yaml"},
           {"--check-config", "--format=json", "--pod-start-delay=-1s"},
           {"--check-config", "--class=vpa"}}) {
    const CliResult r = RunModel(args);
    EXPECT_EQ(r.exit_code, 2) << args.back();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  }
}

}  // namespace
}  // namespace knbench::autoscaler_model::cli_test
