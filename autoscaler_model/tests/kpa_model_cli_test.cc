// Runs the real kpa_model binary on small fixtures.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// ctest runs tests as parallel processes: give each its own scratch files.
std::string Scratch(const std::string& name) {
  return testing::TempDir() + "/kpa_" + std::to_string(getpid()) + "_" +
         testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
         name;
}

CliResult RunModel(const std::vector<std::string>& args) {
  const std::string out = Scratch("stdout.txt");
  const std::string err = Scratch("stderr.txt");
  std::string cmd = Quote(KPA_MODEL_BIN);
  for (const auto& a : args) cmd += " " + Quote(a);
  cmd += " >" + Quote(out) + " 2>" + Quote(err);
  const int status = std::system(cmd.c_str());
  CliResult r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

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

// --check-config --format=json: the contract scripts read
// (docs/kpa_model.md).
nlohmann::json CheckConfig(const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"--check-config", "--format=json"};
  args.insert(args.end(), flags.begin(), flags.end());
  const CliResult r = RunModel(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // stdout is one object (parse throws otherwise); notes go to stderr.
  return nlohmann::json::parse(r.out);
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

// What a script does to replay local_serving's decisions: every non-null
// setting back as a flag gives the same settings.
std::vector<std::string> AsFlags(const nlohmann::json& settings) {
  std::vector<std::string> flags;
  for (const auto& [key, value] : settings.items()) {
    if (value.is_null()) continue;
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    flags.push_back(
        "--" + name + "=" +
        (value.is_string() ? value.get<std::string>() : value.dump()));
  }
  return flags;
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

// --check-config's text has one key=value line for each of `keys`.
template <size_t N>
void ExpectEachKeyOnce(const std::vector<std::string>& lines,
                       const char* const (&keys)[N]) {
  for (const char* key : keys) {
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [&](const std::string& l) {
                              return l.rfind(std::string(key) + "=", 0) == 0;
                            }),
              1)
        << key;
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

// The HPA class: its table's settings (the KPA's are not reported), and
// the HorizontalPodAutoscaler Knative makes from them.
constexpr const char* kHpaSettingKeys[] = {
    "class",
    "metric",
    "target",
    "min_scale",
    "max_scale",
    "window",
    "horizontal_pod_autoscaler_sync_period",
    "horizontal_pod_autoscaler_tolerance",
    "horizontal_pod_autoscaler_cpu_initialization_period",
    "horizontal_pod_autoscaler_initial_readiness_delay",
    "horizontal_pod_autoscaler_downscale_stabilization",
    "metric_resolution",
    "cpu_request"};

constexpr char kHpaManifest[] = KPA_FIXTURES_DIR "/worker-service-hpa.yaml";

TEST(KpaModelCheckConfig, HpaClassFromTheManifest) {
  // The rendered HPA overlay: class hpa, cpu, target 70, min 1, max 3, CPU
  // request 500m; no window, so no behavior.
  const nlohmann::json j = CheckConfig({"--from-manifest", kHpaManifest});
  EXPECT_EQ(j["class"], "hpa");
  const nlohmann::json& s = j["settings"];
  const nlohmann::json& src = j["sources"];
  EXPECT_EQ(s.size(), std::size(kHpaSettingKeys));
  for (const char* key : kHpaSettingKeys) {
    EXPECT_TRUE(s.contains(key)) << key;
    EXPECT_TRUE(src.contains(key)) << key;
  }
  EXPECT_EQ(s["class"], "hpa");
  EXPECT_EQ(src["class"], "manifest");
  EXPECT_EQ(s["target"], 70.0);
  EXPECT_EQ(s["cpu_request"], 500);
  EXPECT_EQ(src["cpu_request"], "manifest");
  EXPECT_TRUE(s["window"].is_null());
  EXPECT_EQ(s["horizontal_pod_autoscaler_tolerance"], 0.1);
  EXPECT_EQ(s["horizontal_pod_autoscaler_downscale_stabilization"], "5m");
  EXPECT_EQ(src["metric_resolution"], "default");
  EXPECT_EQ(j["derived"], nlohmann::json::parse(R"({
      "hpa_metric": "cpu", "target_utilization_percent": 70,
      "target_average_value_bytes": null, "min_replicas": 1,
      "max_replicas": 3, "behavior": null})"));
  EXPECT_EQ(j["manifest"]["ignored"], nlohmann::json::array());
}

TEST(KpaModelCheckConfig, HpaBehaviorAndMemoryFromFlags) {
  // A window gives the API's default policies with it as both windows;
  // memory 100.7 MiB is truncated to 100 MiB; max-scale 0 is no limit.
  const nlohmann::json j =
      CheckConfig({"--class=hpa", "--metric=memory", "--target=100.7",
                   "--window=30s", "--horizontal-pod-autoscaler-sync-period",
                   "2s", "--metric-resolution=1500ms"});
  EXPECT_EQ(j["class"], "hpa");
  EXPECT_EQ(j["sources"]["class"], "flag");
  EXPECT_EQ(j["settings"]["horizontal_pod_autoscaler_sync_period"], "2s");
  EXPECT_EQ(j["settings"]["metric_resolution"], "1.5s");
  EXPECT_EQ(j["derived"], nlohmann::json::parse(R"({
      "hpa_metric": "memory", "target_utilization_percent": null,
      "target_average_value_bytes": 104857600, "min_replicas": 1,
      "max_replicas": null,
      "behavior": {
        "scale_up": {"stabilization_window": "30s", "select_policy": "Max",
                     "policies": [
                       {"type": "Pods", "value": 4, "period": "15s"},
                       {"type": "Percent", "value": 100, "period": "15s"}]},
        "scale_down": {"stabilization_window": "30s", "select_policy": "Max",
                       "policies": [
                         {"type": "Percent", "value": 100,
                          "period": "15s"}]}}})"));
}

TEST(KpaModelCheckConfig, HpaSettingsRoundTripAsFlags) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--from-manifest", kHpaManifest},
           {"--class=hpa", "--cpu-request=250", "--window=1m",
            "--horizontal-pod-autoscaler-tolerance=0.05",
            "--horizontal-pod-autoscaler-initial-readiness-delay=0"}}) {
    const nlohmann::json first = CheckConfig(flags);
    const nlohmann::json again = CheckConfig(AsFlags(first["settings"]));
    EXPECT_EQ(again["settings"], first["settings"]) << first.dump();
    EXPECT_EQ(again["derived"], first["derived"]);
  }
  // Text: every setting once, the behavior's members as dotted keys.
  const CliResult r = RunModel(
      {"--check-config", "--from-manifest", kHpaManifest, "--window=30s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ExpectEachKeyOnce(lines, kHpaSettingKeys);
  EXPECT_NE(std::find(lines.begin(), lines.end(),
                      "behavior.scale_down.stabilization_window=30s"),
            lines.end());
}

TEST(KpaModelCheckConfig, BadSettingsOrFormatExitTwoWithOneLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--check-config", "--format=json", "--window=5s"},
           {"--check-config", "--format=yaml"},
           {"--check-config", "--format=json", "--pod-start-delay=-1s"},
           {"--check-config", "--class=vpa"},
           {"--check-config", "--class=hpa"},  // no CPU request
           {"--check-config", "--class=hpa", "--cpu-request=1", "--metric=rps"},
           {"--check-config", "--from-manifest", kHpaManifest,
            "--horizontal-pod-autoscaler-tolerance=1"}}) {
    const CliResult r = RunModel(args);
    EXPECT_EQ(r.exit_code, 2) << args.back();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  }
}

}  // namespace
