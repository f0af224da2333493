// Runs the real kpa_model binary with the HPA class: the replay of a small
// input worked by hand, the class from the rendered HPA overlay,
// --check-config, and bad input.
#include <algorithm>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_controller.h"
#include "knbench/autoscaler_model/hpa_input.h"
#include "knbench/autoscaler_model/hpa_replay.h"
#include "kpa_model_cli_util.h"
#include "nlohmann/json.hpp"

namespace knbench::autoscaler_model::cli_test {
namespace {

constexpr char kStats[] = KPA_FIXTURES_DIR "/hpa-stats.csv";
constexpr char kHpaManifest[] = KPA_FIXTURES_DIR "/worker-service-hpa.yaml";

// hpa-stats.csv: pods a and b (the HPA's first sample, so initialized),
// CPU in millicores at 0, 15, ..., 75 s: 100+100, 52+56, then 20+20.
// With a 100 m request, target 50 % and a 30 s downscale stabilization
// (no window, so no behavior), a sync every 15 s from 0:
//  0: 200/200 = 100 % -> ratio 2.0 -> ceil(2.0 x 2) = 4; recorded: 2 (the
//     current replicas when first seen) and 4; the highest is 4, and the
//     scale-up limit max(2 x 2, 4) = 4 allows it: 2 -> 4.
// 15: 108/200 = 54 % -> 1.08, within the 0.1 tolerance: stays 4.
// 30: 40/200 = 20 % -> 0.4 -> ceil(0.8) = 1; the last 30 s (0 included)
//     hold 4: stabilized at 4.
// 45: 1 again; the last 30 s (15 included) still hold 4.
// 60: the last 30 s (30..60) hold only 1s: 4 -> 1.
// 75: ceil(0.4 x 2 ready pods) = 1: stays 1.
const std::vector<std::string> kStatsFlags = {
    "--class=hpa", "--cpu-request=100", "--target=50",
    "--horizontal-pod-autoscaler-downscale-stabilization=30s"};

std::vector<std::string> With(std::vector<std::string> args,
                              const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(KpaModelHpaCli, ReplaysSamplesAsWorkedByHand) {
  const std::string expected =
      Slurp(KPA_FIXTURES_DIR "/hpa-stats-decisions.csv");
  ASSERT_EQ(Lines(expected).size(), 7u);
  const CliResult r = RunModel(With(kStatsFlags, {"--input", kStats}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  EXPECT_EQ(r.err, "");
  // The same as the library's replay of the same samples and settings.
  HpaConfig config;
  config.cpu_request = 100;
  config.target = 50;
  config.downscale_stabilization = absl::Seconds(30);
  std::ifstream in(kStats);
  absl::StatusOr<HpaInput> input = ReadHpaSamples(in, config);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(r.out, FormatHpaDecisionsCsv(ReplayHpa(input->samples, config)));
  // To a file too; a KPA-only flag is said to be unused.
  const std::string out = Scratch("decisions.csv");
  const CliResult to_file = RunModel(
      With(kStatsFlags, {"--input", kStats, "--output", out, "--extend=1m"}));
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(Slurp(out), expected);
  EXPECT_EQ(to_file.err,
            "kpa_model: note: --extend is not used by the hpa class; "
            "ignored\n");
}

TEST(KpaModelHpaCli, ClassAndSettingsFromTheRenderedOverlay) {
  // The overlay: class hpa, target 70 % of a 500 m request, min 1, max 3,
  // the default 5 min downscale stabilization. 0: 200/1000 = 20 % -> 0.29
  // -> ceil(0.57) = 1, but the 2 recorded at creation hold for 5 min;
  // 15: 108/1000 = 10 %; 30 on: 40/1000 = 4 %: always 1, held at 2.
  CliResult r = RunModel({"--input", kStats, "--from-manifest", kHpaManifest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0] + "\n", kHpaDecisionsCsvHeader);
  EXPECT_EQ(lines[1], "0,2,2,20,100,2,0,0,scale,1,2,stabilization");
  EXPECT_EQ(lines[2], "15,2,2,10,54,2,0,0,scale,1,2,stabilization");
  EXPECT_EQ(lines[6], "75,2,2,4,20,2,0,0,scale,1,2,stabilization");
  // A flag beats the manifest: max-scale 1 takes the 2 pods to 1 at once
  // (no calculation); after that the held 2 is capped by the max.
  r = RunModel(
      {"--input", kStats, "--from-manifest", kHpaManifest, "--max-scale=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[1], "0,1,2,,,0,0,0,above-max,,,max");
  EXPECT_EQ(lines[2], "15,1,1,10,54,2,0,0,scale,1,2,stabilization+max");
}

// Bad input: one line naming the file and line, exit 2, nothing on stdout.
TEST(KpaModelHpaCli, BadInputExitsTwoWithOneLine) {
  const auto write = [](const std::string& name, const std::string& text) {
    const std::string path = Scratch(name);
    std::ofstream(path) << text;
    return path;
  };
  const std::string bad_cpu =
      write("cpu.csv", "time_s,pod,cpu_millicores,ready\n0,a,100,1\n0,b,x,1\n");
  const std::string backwards = write(
      "back.csv", "time_s,pod,cpu_millicores,ready\n15,a,100,1\n0,a,100,1\n");
  const std::string driver = KPA_FIXTURES_DIR "/driver-small.csv";
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--input", bad_cpu}, bad_cpu + ": line 3: bad cpu_millicores \"x\""},
      {{"--input", backwards},
       backwards + ": line 3: time_s 0 is before the previous row's 15"},
      {{"--input", driver}, driver + ": header needs time_s, pod, "},
      {{"--input", kStats, "--metric=memory", "--target=64"},
       std::string(kStats) + ": the memory metric needs a memory_bytes column"},
      {{"--input", "/nonexistent/stats.csv"},
       "cannot open input /nonexistent/stats.csv"},
  };
  for (const auto& [args, error] : bad) {
    const CliResult r = RunModel(With(kStatsFlags, args));
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.out, "") << args[1];
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("kpa_model: " + error, 0), 0u) << r.err;
  }
  // Settings the class refuses, from flags or the manifest.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--class=hpa", "--input", kStats},  // no CPU request
           {"--class=hpa", "--cpu-request=1", "--metric=rps", "--input",
            kStats},
           {"--from-manifest", kHpaManifest,
            "--horizontal-pod-autoscaler-tolerance=1", "--input", kStats},
           {"--check-config", "--from-manifest", kHpaManifest,
            "--window=5s"}}) {
    const CliResult r = RunModel(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  }
  // The output cannot be written: exit 1.
  const CliResult r = RunModel(
      With(kStatsFlags, {"--input", kStats, "--output", "/nonexistent/d.csv"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
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

}  // namespace
}  // namespace knbench::autoscaler_model::cli_test
