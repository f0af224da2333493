// The KPA settings on the command line: one flag per row of the settings
// table (--target, --window, --min-scale, ...) with Knative's names and
// defaults, plus --from-manifest, --check-config and --format. kpa_model and
// local_serving share them, so one setting reads the same in both.
#ifndef KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
#define KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/manifest.h"
#include "knbench/autoscaler_model/setting_table.h"
#include "knbench/common/flags.h"

namespace knbench::autoscaler_model {

// The flags of settings tables, for knbench::ParseFlags: each flag given is
// parsed as its setting's type (errors name the flag) and kept by name. A
// name in several of `specs` (two tables' target) is one flag, described
// by its first spec; each table then reads the value by name. It holds the
// flags' parsers, so it stays where it was made.
class SettingFlags {
 public:
  explicit SettingFlags(const std::vector<SettingSpec>& specs);
  SettingFlags(const SettingFlags&) = delete;
  SettingFlags& operator=(const SettingFlags&) = delete;

  const std::vector<knbench::TableFlag>& flags() const { return flags_; }
  // The settings given, by underscored name.
  const std::map<std::string, SettingValue>& given() const { return given_; }

 private:
  std::vector<knbench::TableFlag> flags_;
  std::map<std::string, SettingValue> given_;
};

struct FlagSettings {
  KpaConfig config;
  // Each setting of KpaSettings() (in its order) and where it came from.
  ResolvedSettings resolved;
  // --from-manifest (empty without it) and what it held.
  std::string manifest_path;
  ManifestSettings manifest;
  // Manifest keys the model does not use, and one note each for the user.
  std::vector<std::string> ignored;
  std::vector<std::string> notes;
};

// Defaults, then --from-manifest, then the setting flags given, validated.
// Errors are one line that names the flag, file or setting.
absl::StatusOr<FlagSettings> SettingsFromFlags(const SettingFlags& flags);

// --check-config and --format: print the resolved configuration (as
// key=value lines or one JSON object) and exit.
enum class ReportFormat { kText, kJson };
bool CheckConfigRequested();
absl::StatusOr<ReportFormat> RequestedReportFormat();

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
