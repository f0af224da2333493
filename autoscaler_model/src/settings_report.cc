#include "knbench/autoscaler_model/settings_report.h"

#include <algorithm>
#include <iostream>
#include <utility>
#include <variant>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/kpa_settings.h"

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

}  // namespace

Json SettingsReport(absl::string_view program, const FlagSettings& settings) {
  Json report;
  report["program"] = std::string(program);
  report["class"] = "kpa";
  const std::vector<SettingSpec>& specs = KpaSettings().specs();
  Json& values = report["settings"] = Json::object();
  Json& sources = report["sources"] = Json::object();
  for (size_t i = 0; i < specs.size(); ++i) {
    values[specs[i].name] = ValueJson(settings.resolved.values[i]);
    sources[specs[i].name] =
        std::string(SourceName(settings.resolved.sources[i]));
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
