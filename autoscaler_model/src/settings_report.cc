#include "knbench/autoscaler_model/settings_report.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace knbench::autoscaler_model {
namespace {

using Json = nlohmann::ordered_json;

Json SettingsJson(const KpaConfig& c) {
  Json j;
  j["metric"] = std::string(MetricName(c.metric));
  j["target"] = c.target.has_value() ? Json(*c.target) : Json(nullptr);
  j["target_utilization_percentage"] = c.target_utilization_percentage;
  j["window"] = absl::FormatDuration(c.stable_window);
  j["panic_window_percentage"] = c.panic_window_percentage;
  j["panic_threshold_percentage"] = c.panic_threshold_percentage;
  j["max_scale_up_rate"] = c.max_scale_up_rate;
  j["max_scale_down_rate"] = c.max_scale_down_rate;
  j["target_burst_capacity"] = c.target_burst_capacity;
  j["min_scale"] = c.min_scale;
  j["max_scale"] = c.max_scale;
  j["initial_scale"] = c.initial_scale;
  j["activation_scale"] = c.activation_scale;
  j["scale_down_delay"] = absl::FormatDuration(c.scale_down_delay);
  j["scale_to_zero_grace_period"] =
      absl::FormatDuration(c.scale_to_zero_grace_period);
  j["enable_scale_to_zero"] = c.enable_scale_to_zero;
  j["container_concurrency"] = c.container_concurrency;
  j["container_concurrency_target_default"] =
      c.container_concurrency_target_default;
  j["requests_per_second_target_default"] =
      c.requests_per_second_target_default;
  j["metric_aggregation_algorithm"] =
      std::string(AggregationName(c.aggregation));
  j["reachable"] = c.reachable;
  j["tick_interval"] = absl::FormatDuration(c.tick_interval);
  return j;
}

// The shortest text that reads back as the same double ("7", "0.01").
std::string NumberText(double v) {
  std::string text = absl::StrFormat("%.15g", v);
  if (std::strtod(text.c_str(), nullptr) != v) {
    text = absl::StrFormat("%.17g", v);
  }
  return text;
}

std::string ScalarText(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) return NumberText(v.get<double>());
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const Json& e : v) parts.push_back(ScalarText(e));
    return absl::StrJoin(parts, ",");
  }
  return v.dump();
}

}  // namespace

Json SettingsReport(absl::string_view program, const FlagSettings& settings) {
  Json report;
  report["program"] = std::string(program);
  report["class"] = "kpa";
  report["settings"] = SettingsJson(settings.config);
  // In the settings' order, which the map of sources does not keep.
  Json& sources = report["sources"] = Json::object();
  for (const auto& [key, value] : report["settings"].items()) {
    sources[key] = settings.sources.at(key);
  }
  const ResolvedTarget target = ResolveTarget(settings.config);
  report["derived"] = {{"target_per_pod", target.target},
                       {"total_target", target.total}};
  if (settings.manifest_path.empty()) {
    report["manifest"] = nullptr;
  } else {
    report["manifest"] = {{"path", settings.manifest_path},
                          {"service", settings.manifest.service_name},
                          {"namespace", settings.manifest.namespace_name},
                          {"ignored", settings.ignored}};
  }
  return report;
}

std::string ReportText(const Json& report, absl::string_view section,
                       const std::vector<std::string>& first) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const char* part : {"settings", "derived"}) {
    for (const auto& [key, value] : report.at(part).items()) {
      lines.emplace_back(key, ScalarText(value));
    }
  }
  if (const std::string name(section); report.contains(name)) {
    for (const auto& [key, value] : report.at(name).items()) {
      lines.emplace_back(key, ScalarText(value));
    }
  }
  const Json& manifest = report.at("manifest");
  lines.emplace_back("from_manifest",
                     manifest.is_null() ? "" : ScalarText(manifest.at("path")));
  // Stable: `first` keys move to the front in their order, the rest keep
  // theirs.
  auto rank = [&first](const std::string& key) {
    return std::find(first.begin(), first.end(), key) - first.begin();
  };
  std::stable_sort(lines.begin(), lines.end(), [&](auto& a, auto& b) {
    return rank(a.first) < rank(b.first);
  });
  std::string text;
  for (const auto& [key, value] : lines) {
    absl::StrAppend(&text, key, "=", value, "\n");
  }
  return text;
}

}  // namespace knbench::autoscaler_model
