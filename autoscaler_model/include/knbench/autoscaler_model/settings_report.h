// The resolved configuration as --check-config prints it: one JSON object
// (program, class, settings, sources, derived, manifest, plus the program's
// own section), or the same as key=value lines. Scripts read the JSON;
// docs/kpa_model.md describes it.
#ifndef KNBENCH_AUTOSCALER_MODEL_SETTINGS_REPORT_H_
#define KNBENCH_AUTOSCALER_MODEL_SETTINGS_REPORT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "knbench/autoscaler_model/settings_flags.h"
#include "nlohmann/json.hpp"

namespace knbench::autoscaler_model {

// {"program", "class", "settings", "sources", "derived", "manifest"}: the
// class, and every setting of its table, by underscored flag name (numbers
// as numbers, durations as absl::FormatDuration strings, null for an unset
// optional setting), where each came from, derived values (KPA:
// target_per_pod and total_target; HPA: the HorizontalPodAutoscaler's
// metric, target, min/max replicas and behavior), and what --from-manifest
// read (null without it). The caller adds its own section ("serving",
// "model").
nlohmann::ordered_json SettingsReport(absl::string_view program,
                                      const FlagSettings& settings);

// The report as key=value lines: every scalar of "settings", "derived" and
// `section` (arrays joined by commas, null as nothing, an object's members
// as dotted keys: behavior.scale_up.stabilization_window), then the
// manifest's path; the keys in `first` come first, in that order.
std::string ReportText(const nlohmann::ordered_json& report,
                       absl::string_view section,
                       const std::vector<std::string>& first);

// --check-config's output on stdout: the JSON, or ReportText. False if
// stdout could not be written.
bool PrintReport(const nlohmann::ordered_json& report, ReportFormat format,
                 absl::string_view section,
                 const std::vector<std::string>& first_text_keys);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SETTINGS_REPORT_H_
