// The autoscaling settings on the command line: --class, and one flag per
// row of each class's settings table (--target, --window, --min-scale,
// --horizontal-pod-autoscaler-tolerance, ...) with Knative's (or
// Kubernetes') names and defaults, plus --from-manifest, --check-config and
// --format. kpa_model and local_serving share them, so one setting reads
// the same in both.
#ifndef KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
#define KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/manifest.h"
#include "knbench/autoscaler_model/setting_table.h"
#include "knbench/common/flags.h"

namespace knbench::autoscaler_model {

// The settings of one table, and the class --help says they are for (""
// for settings of every class, such as the class itself).
struct SettingGroup {
  std::string label;
  std::vector<SettingSpec> specs;
};

// The flags of settings tables, for knbench::ParseFlags. A name in several
// groups (both classes' metric, target, window, min-scale, max-scale) is
// one flag; --help gives each class's meaning. A flag's text is kept as
// given, once some setting of its name reads it; each table then reads it
// with its own type, values and bounds (Given). It holds the flags'
// parsers, so it stays where it was made.
class SettingFlags {
 public:
  // --class and every setting of the KPA's and the HPA's tables.
  SettingFlags();
  explicit SettingFlags(std::vector<SettingGroup> groups);
  SettingFlags(const SettingFlags&) = delete;
  SettingFlags& operator=(const SettingFlags&) = delete;

  const std::vector<knbench::TableFlag>& flags() const { return flags_; }
  // The flags given, by underscored name, as text ("true" or "false" for a
  // boolean given as --name or --noname).
  const std::map<std::string, std::string>& given() const { return given_; }
  // The value given for `spec`'s flag as `spec` reads it; nothing when the
  // flag was not given. The error names the flag ("--metric=cpu: must be
  // concurrency or rps").
  absl::StatusOr<std::optional<SettingValue>> Given(
      const SettingSpec& spec) const;

 private:
  void AddFlag(const std::vector<std::pair<std::string, SettingSpec>>& uses);

  std::vector<knbench::TableFlag> flags_;
  std::map<std::string, std::string> given_;
};

struct FlagSettings {
  // The class (--class > the manifest's class annotation > kpa), and where
  // it came from.
  AutoscalerClass autoscaler_class = AutoscalerClass::kKpa;
  SettingSource class_source = SettingSource::kDefault;
  // The KPA's settings: resolved under the kpa class, defaults otherwise.
  KpaConfig config;
  // The HPA's settings: resolved under the hpa class, defaults otherwise.
  HpaConfig hpa;
  // Each setting of the class's table (ClassSpecs(autoscaler_class), in its
  // order) and where it came from.
  ResolvedSettings resolved;
  // --from-manifest (empty without it) and what it held.
  std::string manifest_path;
  ManifestSettings manifest;
  // Manifest keys the class does not use, and one note each for the user
  // (and one per flag given that is not the class's).
  std::vector<std::string> ignored;
  std::vector<std::string> notes;
};

// The class, then its table: defaults, then --from-manifest, then the
// setting flags given, validated. Errors are one line that names the flag,
// file or setting.
absl::StatusOr<FlagSettings> SettingsFromFlags(const SettingFlags& flags);

// --check-config and --format: print the resolved configuration (as
// key=value lines or one JSON object) and exit.
enum class ReportFormat { kText, kJson };
bool CheckConfigRequested();
absl::StatusOr<ReportFormat> RequestedReportFormat();

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
