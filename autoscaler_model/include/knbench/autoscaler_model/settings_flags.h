// The KPA settings as command-line flags (--target, --window, --min-scale,
// ... and --from-manifest), with Knative's names and defaults. kpa_model and
// local_serving share them, so one setting reads the same in both.
#ifndef KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
#define KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/manifest.h"

namespace knbench::autoscaler_model {

struct FlagSettings {
  KpaConfig config;
  // --from-manifest (empty without it) and what it held.
  std::string manifest_path;
  ManifestSettings manifest;
  // Manifest keys the model does not use, and one note each for the user.
  std::vector<std::string> ignored;
  std::vector<std::string> notes;
  // Where each setting's value came from, by underscored flag name:
  // "flag", "manifest" or "default".
  std::map<std::string, std::string> sources;
};

// Defaults, then --from-manifest, then every setting flag named in `given`
// (underscored flag names, as ParseFlags reports them), validated. Errors
// are one line that names the flag, file or setting.
absl::StatusOr<FlagSettings> SettingsFromFlags(
    const std::set<std::string>& given);

// --check-config and --format, shared by kpa_model and local_serving: print
// the resolved configuration (as key=value lines or one JSON object) and
// exit.
enum class ReportFormat { kText, kJson };
bool CheckConfigRequested();
absl::StatusOr<ReportFormat> RequestedReportFormat();

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
