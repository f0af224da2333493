#include "knbench/autoscaler_model/settings_report.h"

#include <algorithm>
#include <iostream>
#include <limits>
#include <utility>
#include <variant>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/autoscaler_model/hpa_config.h"

namespace knbench::autoscaler_model {
namespace {

using Json = nlohmann::ordered_json;

// A setting's value as JSON: numbers as numbers, durations and enums as
// their text, null when unset.
Json ValueJson(const SettingValue& value) {
  struct ToJson {
    Json operator()(std::monostate) const { return nullptr; }
    Json operator()(double v) const { return v; }
    Json operator()(int64_t v) const { return v; }
    Json operator()(bool v) const { return v; }
    Json operator()(absl::Duration v) const { return absl::FormatDuration(v); }
    Json operator()(const std::string& v) const { return v; }
  };
  return std::visit(ToJson{}, value);
}

std::string ScalarText(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) return SettingText(v.get<double>());
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const Json& e : v) parts.push_back(ScalarText(e));
    return absl::StrJoin(parts, ",");
  }
  return v.dump();
}

absl::string_view PolicyTypeName(ScalingPolicyType type) {
  return type == ScalingPolicyType::kPercent ? "Percent" : "Pods";
}

absl::string_view SelectPolicyName(SelectPolicy select) {
  switch (select) {
    case SelectPolicy::kMin:
      return "Min";
    case SelectPolicy::kDisabled:
      return "Disabled";
    case SelectPolicy::kMax:
      break;
  }
  return "Max";
}

// HPAScalingRules as the API writes them (periodSeconds as a duration).
Json RulesJson(const ScalingRules& rules) {
  Json policies = Json::array();
  for (const ScalingPolicy& p : rules.policies) {
    policies.push_back({{"type", PolicyTypeName(p.type)},
                        {"value", p.value},
                        {"period", absl::FormatDuration(p.period)}});
  }
  Json window = nullptr;
  if (rules.stabilization_window) {
    window = absl::FormatDuration(*rules.stabilization_window);
  }
  return {{"stabilization_window", window},
          {"select_policy", SelectPolicyName(rules.select_policy)},
          {"policies", policies}};
}

// The HorizontalPodAutoscaler Knative makes from the settings.
Json HpaSpecJson(const HpaSpec& spec) {
  const bool cpu = spec.metric == HpaMetric::kCpu;
  Json derived = {
      {"hpa_metric", HpaMetricName(spec.metric)},
      {"target_utilization_percent",
       cpu ? Json(spec.target_utilization) : Json(nullptr)},
      {"target_average_value_bytes",
       cpu ? Json(nullptr) : Json(spec.target_average_milli / 1000)},
      {"min_replicas", spec.min_replicas},
      {"max_replicas", spec.max_replicas == std::numeric_limits<int32_t>::max()
                           ? Json(nullptr)
                           : Json(spec.max_replicas)}};
  derived["behavior"] = nullptr;
  if (spec.behavior) {
    derived["behavior"] = {
        {"scale_up", RulesJson(spec.behavior->scale_up)},
        {"scale_down", RulesJson(spec.behavior->scale_down)}};
  }
  return derived;
}

Json DerivedJson(const FlagSettings& settings) {
  if (settings.autoscaler_class == AutoscalerClass::kHpa) {
    return HpaSpecJson(MakeHpaSpec(settings.hpa));
  }
  const ResolvedTarget target = ResolveTarget(settings.config);
  return {{"target_per_pod", target.target}, {"total_target", target.total}};
}

// `value` as key=value lines: an object's members as dotted keys.
void AppendLines(const std::string& key, const Json& value,
                 std::vector<std::pair<std::string, std::string>>* lines) {
  if (!value.is_object() || value.empty()) {
    lines->emplace_back(key, ScalarText(value));
    return;
  }
  for (const auto& [member, v] : value.items()) {
    AppendLines(absl::StrCat(key, ".", member), v, lines);
  }
}

}  // namespace

Json SettingsReport(absl::string_view program, const FlagSettings& settings) {
  Json report;
  report["program"] = std::string(program);
  report["class"] = AutoscalerClassName(settings.autoscaler_class);
  Json& values = report["settings"] = Json::object();
  Json& sources = report["sources"] = Json::object();
  // The class first: a setting like the others, so that replaying with
  // every setting as a flag chooses the same class.
  values[ClassSettings().specs()[0].name] = report["class"];
  sources[ClassSettings().specs()[0].name] = SourceName(settings.class_source);
  const std::vector<SettingSpec>& specs = ClassSpecs(settings.autoscaler_class);
  for (size_t i = 0; i < specs.size(); ++i) {
    values[specs[i].name] = ValueJson(settings.resolved.values[i]);
    sources[specs[i].name] =
        std::string(SourceName(settings.resolved.sources[i]));
  }
  report["derived"] = DerivedJson(settings);
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
  for (const std::string& part :
       std::vector<std::string>{"settings", "derived", std::string(section)}) {
    if (!report.contains(part)) continue;
    for (const auto& [key, value] : report.at(part).items()) {
      AppendLines(key, value, &lines);
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

bool PrintReport(const Json& report, ReportFormat format,
                 absl::string_view section,
                 const std::vector<std::string>& first_text_keys) {
  if (format == ReportFormat::kJson) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << ReportText(report, section, first_text_keys);
  }
  std::cout << std::flush;
  return static_cast<bool>(std::cout);
}

}  // namespace knbench::autoscaler_model
