// Reads the autoscaling settings of a Knative Service manifest: the
// autoscaling.knative.dev/* annotations on spec.template.metadata and
// spec.template.spec.containerConcurrency. Parsed with yaml-cpp, so any valid
// YAML spelling (flow style, quoting, anchors) reads the same.
#ifndef KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_
#define KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

struct ManifestSettings {
  std::string service_name;    // metadata.name
  std::string namespace_name;  // metadata.namespace, empty if not set
  // Revision-template annotations, full keys ("autoscaling.knative.dev/...").
  std::map<std::string, std::string> annotations;
  // The scalar fields of spec.template.spec as text ("containerConcurrency").
  std::map<std::string, std::string> revision_spec;
};

// Uses the first document of kind Service with apiVersion
// serving.knative.dev/*. Errors: not valid YAML (with the line), no such
// document, annotations that are not a map of strings, a containerConcurrency
// that is not a non-negative integer.
absl::StatusOr<ManifestSettings> ParseManifest(absl::string_view yaml);

// Reads the settings of `specs` from the manifest over `resolved` (whose
// sources become kManifest): annotations by key or legacy alias, revision
// spec fields by name. A value of the wrong type is an error naming the
// annotation or field; autoscaling.knative.dev/* keys no setting reads
// (class aside) are appended to `ignored`.
absl::Status ReadManifest(const std::vector<SettingSpec>& specs,
                          const ManifestSettings& settings,
                          ResolvedSettings* resolved,
                          std::vector<std::string>* ignored);

// The class annotation, when present, must be the KPA's.
absl::Status CheckKpaClass(const ManifestSettings& settings);

// CheckKpaClass, then ReadManifest with the KPA's table over `config`.
absl::Status ApplyManifest(const ManifestSettings& settings, KpaConfig* config,
                           std::vector<std::string>* ignored);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_
