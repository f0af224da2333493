// The KPA settings as command-line flags (--target, --window, --min-scale,
// ... and --from-manifest), with Knative's names and defaults. kpa_model and
// local_serving share them, so one setting reads the same in both.
#ifndef KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
#define KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/manifest.h"

namespace knbench::autoscaler_model {

struct FlagSettings {
  KpaConfig config;
  // What --from-manifest held (empty without it).
  ManifestSettings manifest;
  // Manifest keys the model does not use, one line each, for the user.
  std::vector<std::string> notes;
};

// Defaults, then --from-manifest, then every setting flag named in `given`
// (underscored flag names, as ParseFlags reports them), validated. Errors
// are one line that names the flag, file or setting.
absl::StatusOr<FlagSettings> SettingsFromFlags(
    const std::set<std::string>& given);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SETTINGS_FLAGS_H_
