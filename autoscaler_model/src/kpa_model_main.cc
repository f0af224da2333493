// kpa_model: replays a run (the load driver's CSV, or a per-second series)
// through Knative's KPA decision and prints one CSV row per 2 s tick.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/input.h"
#include "knbench/autoscaler_model/manifest.h"
#include "knbench/autoscaler_model/simulator.h"
#include "knbench/common/flags.h"

ABSL_FLAG(std::string, input, "",
          "Required. The load driver's CSV (in-flight concurrency and request "
          "rate per second are rebuilt from send and completion times; "
          "dropped rows were never in flight) or a CSV with columns "
          "time_s,value[,ready_pods]. Detected by the header.");
ABSL_FLAG(std::string, output, "-", "Where to write the tick CSV; - = stdout.");
ABSL_FLAG(std::string, from_manifest, "",
          "A Knative Service YAML: read autoscaling.knative.dev/* annotations "
          "from spec.template.metadata.annotations and containerConcurrency. "
          "Flags given explicitly override it.");
ABSL_FLAG(std::string, metric, "concurrency",
          "autoscaling.knative.dev/metric: concurrency or rps.");
ABSL_FLAG(double, target, 0,
          "autoscaling.knative.dev/target per pod; 0 = the metric's default "
          "(container-concurrency-target-default 100, or "
          "requests-per-second-target-default 200), capped by "
          "--container-concurrency.");
ABSL_FLAG(double, target_utilization_percentage, 70,
          "autoscaling.knative.dev/target-utilization-percentage: the "
          "autoscaler aims for target x this / 100 per pod.");
ABSL_FLAG(absl::Duration, window, absl::Seconds(60),
          "autoscaling.knative.dev/window: the stable window (6s..1h).");
ABSL_FLAG(double, panic_window_percentage, 10,
          "autoscaling.knative.dev/panic-window-percentage of the stable "
          "window.");
ABSL_FLAG(double, panic_threshold_percentage, 200,
          "autoscaling.knative.dev/panic-threshold-percentage: panic when the "
          "panic-window pods reach this % of the ready pods.");
ABSL_FLAG(double, max_scale_up_rate, 1000,
          "config-autoscaler max-scale-up-rate: at most ceil(rate x ready) "
          "pods.");
ABSL_FLAG(double, max_scale_down_rate, 2,
          "config-autoscaler max-scale-down-rate: at least floor(ready / "
          "rate) pods.");
ABSL_FLAG(double, target_burst_capacity, 211,
          "autoscaling.knative.dev/target-burst-capacity; -1 = activator "
          "always in the path, 0 = only at zero scale.");
ABSL_FLAG(int32_t, min_scale, 0, "autoscaling.knative.dev/min-scale.");
ABSL_FLAG(int32_t, max_scale, 0,
          "autoscaling.knative.dev/max-scale; 0 = unlimited.");
ABSL_FLAG(int32_t, initial_scale, 1,
          "autoscaling.knative.dev/initial-scale: pods at start, held until "
          "reached once.");
ABSL_FLAG(int32_t, activation_scale, 1,
          "autoscaling.knative.dev/activation-scale: least pods when scaling "
          "up from zero.");
ABSL_FLAG(absl::Duration, scale_down_delay, absl::ZeroDuration(),
          "autoscaling.knative.dev/scale-down-delay: scale down only to the "
          "max of the decisions over this long.");
ABSL_FLAG(absl::Duration, scale_to_zero_grace_period, absl::Seconds(30),
          "config-autoscaler scale-to-zero-grace-period: how long the "
          "activator is in the path before the last pod goes.");
ABSL_FLAG(bool, enable_scale_to_zero, true,
          "config-autoscaler enable-scale-to-zero.");
ABSL_FLAG(int64_t, container_concurrency, 0,
          "spec.template.spec.containerConcurrency (hard limit per pod; "
          "0 = unlimited).");
ABSL_FLAG(double, container_concurrency_target_default, 100,
          "config-autoscaler container-concurrency-target-default.");
ABSL_FLAG(double, requests_per_second_target_default, 200,
          "config-autoscaler requests-per-second-target-default.");
ABSL_FLAG(std::string, metric_aggregation_algorithm, "linear",
          "autoscaling.knative.dev/metric-aggregation-algorithm: linear or "
          "weighted-exponential (alias weightedExponential).");
ABSL_FLAG(bool, reachable, true,
          "Whether a route points at the revision; unreachable revisions "
          "ignore min-scale and scale down without rate limit.");
ABSL_FLAG(absl::Duration, tick_interval, absl::Seconds(2),
          "config-autoscaler tick-interval: time between decisions.");
ABSL_FLAG(absl::Duration, pod_start_delay, absl::Seconds(2),
          "When the input has no ready_pods: a requested pod is ready this "
          "long after the decision (removal is immediate).");
ABSL_FLAG(absl::Duration, extend, absl::ZeroDuration(),
          "Keep deciding this long after the input ends, with no traffic.");

namespace {

using knbench::autoscaler_model::KpaConfig;
namespace am = knbench::autoscaler_model;

constexpr char kUsage[] =
    "Usage: kpa_model --input RUN.csv [--output MODEL.csv] [settings]\n"
    "\n"
    "Replays a run through Knative's KPA autoscaling decision (1 s buckets,\n"
    "stable and panic windows, rate limits, panic mode, min/max/initial\n"
    "scale, scale-down delay, scale to zero, excess burst capacity) and\n"
    "writes one CSV row per decision tick:\n"
    "  time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,\n"
    "  excess_burst_capacity,activator_in_path\n"
    "time_s counts from the input's first second. desired_pods is the scale\n"
    "the KPA applies (after min/max and scale-to-zero rules). Settings use\n"
    "Knative's names and defaults; precedence: flag > --from-manifest >\n"
    "default. Example (what if target were 20?):\n"
    "  kpa_model --input results/SWEEP/results-100rps-100ms.csv --target 20\n"
    "Exit status: 0 ok, 2 bad flags or input, 1 output error.";

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "kpa_model: " << message << "\n";
  std::exit(2);
}

// Copies each explicitly given setting flag over the manifest/defaults.
void ApplyFlags(const std::set<std::string>& given, KpaConfig* c) {
  const std::map<std::string, std::function<void()>> setters = {
      {"metric",
       [&] {
         const auto m = am::ParseMetric(absl::GetFlag(FLAGS_metric));
         if (!m) Fail("--metric must be concurrency or rps");
         c->metric = *m;
       }},
      {"target",
       [&] {
         const double t = absl::GetFlag(FLAGS_target);
         if (t == 0) {
           c->target.reset();
         } else {
           c->target = t;
         }
       }},
      {"target_utilization_percentage",
       [&] {
         c->target_utilization_percentage =
             absl::GetFlag(FLAGS_target_utilization_percentage);
       }},
      {"window", [&] { c->stable_window = absl::GetFlag(FLAGS_window); }},
      {"panic_window_percentage",
       [&] {
         c->panic_window_percentage =
             absl::GetFlag(FLAGS_panic_window_percentage);
       }},
      {"panic_threshold_percentage",
       [&] {
         c->panic_threshold_percentage =
             absl::GetFlag(FLAGS_panic_threshold_percentage);
       }},
      {"max_scale_up_rate",
       [&] { c->max_scale_up_rate = absl::GetFlag(FLAGS_max_scale_up_rate); }},
      {"max_scale_down_rate",
       [&] {
         c->max_scale_down_rate = absl::GetFlag(FLAGS_max_scale_down_rate);
       }},
      {"target_burst_capacity",
       [&] {
         c->target_burst_capacity = absl::GetFlag(FLAGS_target_burst_capacity);
       }},
      {"min_scale", [&] { c->min_scale = absl::GetFlag(FLAGS_min_scale); }},
      {"max_scale", [&] { c->max_scale = absl::GetFlag(FLAGS_max_scale); }},
      {"initial_scale",
       [&] { c->initial_scale = absl::GetFlag(FLAGS_initial_scale); }},
      {"activation_scale",
       [&] { c->activation_scale = absl::GetFlag(FLAGS_activation_scale); }},
      {"scale_down_delay",
       [&] { c->scale_down_delay = absl::GetFlag(FLAGS_scale_down_delay); }},
      {"scale_to_zero_grace_period",
       [&] {
         c->scale_to_zero_grace_period =
             absl::GetFlag(FLAGS_scale_to_zero_grace_period);
       }},
      {"enable_scale_to_zero",
       [&] {
         c->enable_scale_to_zero = absl::GetFlag(FLAGS_enable_scale_to_zero);
       }},
      {"container_concurrency",
       [&] {
         c->container_concurrency = absl::GetFlag(FLAGS_container_concurrency);
       }},
      {"container_concurrency_target_default",
       [&] {
         c->container_concurrency_target_default =
             absl::GetFlag(FLAGS_container_concurrency_target_default);
       }},
      {"requests_per_second_target_default",
       [&] {
         c->requests_per_second_target_default =
             absl::GetFlag(FLAGS_requests_per_second_target_default);
       }},
      {"metric_aggregation_algorithm",
       [&] {
         const auto a = am::ParseAggregation(
             absl::GetFlag(FLAGS_metric_aggregation_algorithm));
         if (!a) {
           Fail(
               "--metric-aggregation-algorithm must be linear or "
               "weighted-exponential");
         }
         c->aggregation = *a;
       }},
      {"reachable", [&] { c->reachable = absl::GetFlag(FLAGS_reachable); }},
      {"tick_interval",
       [&] { c->tick_interval = absl::GetFlag(FLAGS_tick_interval); }},
  };
  for (const auto& [name, set] : setters) {
    if (given.count(name) > 0) set();
  }
}

std::string ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(absl::StrCat("cannot open ", what, " ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::set<std::string> given;
  const std::vector<std::string> positional =
      knbench::ParseFlagsOrExit(argc, argv, "kpa_model", kUsage, &given);
  if (!positional.empty()) Fail("unexpected argument: " + positional[0]);
  const std::string input_path = absl::GetFlag(FLAGS_input);
  if (input_path.empty()) Fail("--input is required (see --help)");

  KpaConfig config;
  if (const std::string manifest = absl::GetFlag(FLAGS_from_manifest);
      !manifest.empty()) {
    auto settings = am::ParseManifest(ReadWholeFile(manifest, "manifest"));
    if (!settings.ok())
      Fail(manifest + ": " + std::string(settings.status().message()));
    std::vector<std::string> ignored;
    if (auto st = am::ApplyManifest(*settings, &config, &ignored); !st.ok()) {
      Fail(manifest + ": " + std::string(st.message()));
    }
    for (const std::string& key : ignored) {
      std::cerr << "kpa_model: note: " << manifest << ": " << key
                << " is not modelled; ignored\n";
    }
  }
  ApplyFlags(given, &config);
  if (auto st = am::ValidateConfig(config); !st.ok()) {
    Fail("invalid setting " + std::string(st.message()));
  }
  am::SimulationOptions options;
  options.pod_start_delay = absl::GetFlag(FLAGS_pod_start_delay);
  options.extend = absl::GetFlag(FLAGS_extend);
  if (options.pod_start_delay < absl::ZeroDuration()) {
    Fail("--pod-start-delay must not be negative");
  }
  if (options.extend < absl::ZeroDuration() ||
      options.extend > absl::Hours(24)) {
    Fail("--extend must be between 0s and 24h");
  }

  std::ifstream in(input_path, std::ios::binary);
  if (!in) Fail("cannot open input " + input_path);
  auto input = am::ReadInput(in);
  if (!input.ok())
    Fail(input_path + ": " + std::string(input.status().message()));

  const auto rows =
      am::Simulate(am::SeriesFor(*input, config.metric), config, options);
  const std::string csv = am::FormatTicksCsv(rows);

  const std::string output = absl::GetFlag(FLAGS_output);
  if (output.empty() || output == "-") {
    std::cout << csv << std::flush;
    if (!std::cout) {
      std::cerr << "kpa_model: writing stdout failed\n";
      return 1;
    }
    return 0;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out << csv;
  out.close();
  if (!out) {
    std::cerr << "kpa_model: cannot write " << output << "\n";
    return 1;
  }
  return 0;
}
