// Reads the autoscaling settings of a Knative Service manifest: the
// autoscaling.knative.dev/* annotations on spec.template.metadata and
// spec.template.spec.containerConcurrency. Parsed with yaml-cpp, so any valid
// YAML spelling (flow style, quoting, anchors) reads the same.
#ifndef KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_
#define KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {

struct ManifestSettings {
  std::string service_name;    // metadata.name
  std::string namespace_name;  // metadata.namespace, empty if not set
  // Revision-template annotations, full keys ("autoscaling.knative.dev/...").
  std::map<std::string, std::string> annotations;
  std::optional<int64_t> container_concurrency;
};

// Uses the first document of kind Service with apiVersion
// serving.knative.dev/*. Errors: not valid YAML (with the line), no such
// document, annotations that are not a map of strings, a containerConcurrency
// that is not a non-negative integer.
absl::StatusOr<ManifestSettings> ParseManifest(absl::string_view yaml);

// Applies the settings to `config`. Bad values are errors naming the
// annotation; keys the model does not use are appended to `ignored`, and the
// (underscored) names of the settings it set to `applied`.
absl::Status ApplyManifest(const ManifestSettings& settings, KpaConfig* config,
                           std::vector<std::string>* ignored,
                           std::set<std::string>* applied = nullptr);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_
