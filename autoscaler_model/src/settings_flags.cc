#include "knbench/autoscaler_model/settings_flags.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/manifest.h"

// The KPA settings, with Knative's names and defaults. kpa_model and
// local_serving both link these definitions.
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
ABSL_FLAG(bool, check_config, false,
          "Resolve flags and manifest, validate, print the configuration "
          "(every setting) and exit.");
ABSL_FLAG(std::string, format, "text",
          "How --check-config prints: text (key=value lines) or json (one "
          "object: settings, where each came from, derived values).");

namespace knbench::autoscaler_model {
namespace {

// Every setting flag, by underscored name (the keys of FlagSettings.sources).
constexpr const char* kSettingNames[] = {"metric",
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

// Copies each explicitly given setting flag over the manifest/defaults.
absl::Status ApplyFlags(const std::set<std::string>& given, KpaConfig* c) {
  absl::Status status;
  const std::map<std::string, std::function<void()>> setters = {
      {"metric",
       [&] {
         const auto m = ParseMetric(absl::GetFlag(FLAGS_metric));
         if (!m) {
           status = absl::InvalidArgumentError(
               "--metric must be concurrency or rps");
           return;
         }
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
         const auto a = ParseAggregation(
             absl::GetFlag(FLAGS_metric_aggregation_algorithm));
         if (!a) {
           status = absl::InvalidArgumentError(
               "--metric-aggregation-algorithm must be linear or "
               "weighted-exponential");
           return;
         }
         c->aggregation = *a;
       }},
      {"reachable", [&] { c->reachable = absl::GetFlag(FLAGS_reachable); }},
      {"tick_interval",
       [&] { c->tick_interval = absl::GetFlag(FLAGS_tick_interval); }},
  };
  for (const auto& [name, set] : setters) {
    if (given.count(name) > 0) set();
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

bool CheckConfigRequested() { return absl::GetFlag(FLAGS_check_config); }

absl::StatusOr<ReportFormat> RequestedReportFormat() {
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format == "text") return ReportFormat::kText;
  if (format == "json") return ReportFormat::kJson;
  return absl::InvalidArgumentError("--format must be text or json");
}

absl::StatusOr<FlagSettings> SettingsFromFlags(
    const std::set<std::string>& given) {
  FlagSettings out;
  std::set<std::string> from_manifest;
  if (const std::string path = absl::GetFlag(FLAGS_from_manifest);
      !path.empty()) {
    out.manifest_path = path;
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--from-manifest: ", text.status().message()));
    }
    absl::StatusOr<ManifestSettings> manifest = ParseManifest(*text);
    if (!manifest.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", manifest.status().message()));
    }
    if (absl::Status st =
            ApplyManifest(*manifest, &out.config, &out.ignored, &from_manifest);
        !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", st.message()));
    }
    for (const std::string& key : out.ignored) {
      out.notes.push_back(
          absl::StrCat(path, ": ", key, " is not modelled; ignored"));
    }
    out.manifest = *std::move(manifest);
  }
  if (absl::Status st = ApplyFlags(given, &out.config); !st.ok()) return st;
  for (const char* name : kSettingNames) {
    out.sources[name] = given.count(name) > 0           ? "flag"
                        : from_manifest.count(name) > 0 ? "manifest"
                                                        : "default";
  }
  if (absl::Status st = ValidateConfig(out.config); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid setting ", st.message()));
  }
  return out;
}

}  // namespace knbench::autoscaler_model
