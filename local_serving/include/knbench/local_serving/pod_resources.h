// The pods' resources (a container's requests and limits): each from its
// flag (--pod-cpu-request, --pod-cpu-limit, --pod-memory-limit, Kubernetes
// quantities), else from --from-manifest's first container, else none.
// Under the hpa class the pods' CPU request is the HPA's own setting
// (--cpu-request, or the manifest's), which utilization is a percentage
// of: one value, so --pod-cpu-request is refused there.
#ifndef KNBENCH_LOCAL_SERVING_POD_RESOURCES_H_
#define KNBENCH_LOCAL_SERVING_POD_RESOURCES_H_

#include <string>

#include "absl/status/statusor.h"
#include "knbench/autoscaler_model/settings_flags.h"
#include "knbench/cgroups/resources.h"
#include "nlohmann/json.hpp"

namespace knbench::local_serving {

// The flags' text as given; empty: not given. "0" is none, overriding the
// manifest (as a limit of 0 is none to the kubelet).
struct PodResourceFlags {
  std::string cpu_request;
  std::string cpu_limit;
  std::string memory_limit;
};

struct PodResources {
  cgroups::Resources resources;
  // Where each came from: "flag", "manifest", or "default" (none).
  std::string cpu_request_source = "default";
  std::string cpu_limit_source = "default";
  std::string memory_request_source = "default";
  std::string memory_limit_source = "default";
};

// Errors are one line naming the flag ("--pod-cpu-limit=x: ...") or the
// rule: a request above its limit, as the API server refuses it.
absl::StatusOr<PodResources> ResolvePodResources(
    const PodResourceFlags& flags, const autoscaler_model::FlagSettings& s);

// {"cpu_request_millicores", "cpu_limit_millicores",
// "memory_request_bytes", "memory_limit_bytes" (null when none),
// "sources": {"cpu_request", ...}, "limits_enforced": "v1", "v2" or
// "none: <why>"}: --check-config's serving.pod_resources and /state's.
nlohmann::ordered_json PodResourcesJson(const PodResources& pods,
                                        const std::string& limits_enforced);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_POD_RESOURCES_H_
