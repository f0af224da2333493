// Reads the autoscaling settings of a Knative Service manifest: the
// autoscaling.knative.dev/* annotations on spec.template.metadata,
// spec.template.spec.containerConcurrency and the first container's
// resources. Parsed with yaml-cpp, so any valid YAML spelling (flow style,
// quoting, anchors) reads the same.
#ifndef KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_
#define KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

// spec.template.spec.containers[0].resources in the units the kubelet
// applies (Kubernetes quantities rounded up, as Quantity.MilliValue() and
// Value() do); each unset when the manifest leaves it out. Field names are
// knbench::cgroups::Resources', which local serving fills from them.
struct ContainerResources {
  std::optional<int64_t> cpu_request_millicores;  // requests.cpu
  std::optional<int64_t> cpu_limit_millicores;    // limits.cpu
  std::optional<int64_t> memory_request_bytes;    // requests.memory
  std::optional<int64_t> memory_limit_bytes;      // limits.memory
};

struct ManifestSettings {
  std::string service_name;    // metadata.name
  std::string namespace_name;  // metadata.namespace, empty if not set
  // Revision-template annotations, full keys ("autoscaling.knative.dev/...").
  std::map<std::string, std::string> annotations;
  // The scalar fields of spec.template.spec as text ("containerConcurrency").
  std::map<std::string, std::string> revision_spec;
  ContainerResources resources;
};

// The largest manifest read: more than any Kubernetes object can be (the
// API server takes requests up to 3 MiB), so a stream of a few objects
// fits, and /dev/zero or a runaway file is refused instead of filling
// memory.
inline constexpr size_t kMaxManifestBytes = 4 << 20;

// Uses the one document of kind Service with apiVersion
// serving.knative.dev/*. Errors: larger than kMaxManifestBytes, not valid
// YAML (with the line; nesting deeper than yaml-cpp's 500 levels says so),
// no such document or more than one (naming each and its line), annotations
// that are not a map of strings, a containerConcurrency that is not a
// non-negative integer, containers that are not a list, resources (or their
// requests, limits) that are not a map, a cpu or memory that is not a
// Kubernetes quantity (the error names the field:
// "spec.template.spec.containers[0].resources.limits.cpu: \"abc\" is not a
// Kubernetes quantity ...").
absl::StatusOr<ManifestSettings> ParseManifest(absl::string_view yaml);

// Reads the settings of `specs` from the manifest over `resolved` (whose
// sources become kManifest): annotations by key or legacy alias, revision
// spec fields by name, container resources from `settings.resources`. A
// value of the wrong type is an error naming the annotation or field;
// autoscaling.knative.dev/* keys no setting reads are appended to `ignored`,
// except the class (which chooses the table: read it with ClassSettings()).
absl::Status ReadManifest(const std::vector<SettingSpec>& specs,
                          const ManifestSettings& settings,
                          ResolvedSettings* resolved,
                          std::vector<std::string>* ignored);

// Whether a setting of `specs` reads the annotation `key` (the full key), by
// its key or a legacy alias.
bool ReadsAnnotation(const std::vector<SettingSpec>& specs,
                     absl::string_view key);

// ReadManifest with the KPA's table over `config`; a manifest whose class
// annotation is another class's is an error.
absl::Status ApplyManifest(const ManifestSettings& settings, KpaConfig* config,
                           std::vector<std::string>* ignored);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_MANIFEST_H_
