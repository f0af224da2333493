#include "knbench/local_serving/pod_resources.h"

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/common/quantity.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;
using Parser = absl::StatusOr<int64_t> (*)(absl::string_view);

// One resource: the flag's value (0: none) if given, else the manifest's.
absl::Status Pick(const char* flag, const std::string& text, Parser parse,
                  const std::optional<int64_t>& manifest,
                  std::optional<int64_t>* value, std::string* source) {
  if (!text.empty()) {
    absl::StatusOr<int64_t> parsed = parse(text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, "=", text, ": ", parsed.status().message()));
    }
    if (*parsed > 0) *value = *parsed;
    *source = "flag";
  } else if (manifest.has_value()) {
    *value = manifest;
    *source = "manifest";
  }
  return absl::OkStatus();
}

// The HPA's resolved cpu_request, and where it came from.
void HpaCpuRequest(const am::FlagSettings& s, PodResources* pods) {
  const std::vector<am::SettingSpec>& specs =
      am::ClassSpecs(am::AutoscalerClass::kHpa);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (std::string(specs[i].name) != "cpu_request") continue;
    if (s.hpa.cpu_request > 0) {
      pods->resources.cpu_request_millicores = s.hpa.cpu_request;
    }
    pods->cpu_request_source =
        std::string(am::SourceName(s.resolved.sources[i]));
  }
}

absl::Status AtMostLimit(const char* what, const std::optional<int64_t>& req,
                         const std::optional<int64_t>& limit,
                         const char* unit) {
  if (req.has_value() && limit.has_value() && *req > *limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the pods' ", what, " request (", *req, unit,
        ") must not exceed their ", what, " limit (", *limit, unit, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PodResources> ResolvePodResources(const PodResourceFlags& flags,
                                                 const am::FlagSettings& s) {
  PodResources pods;
  cgroups::Resources& r = pods.resources;
  const am::ContainerResources& m = s.manifest.resources;
  if (s.autoscaler_class == am::AutoscalerClass::kHpa) {
    if (!flags.cpu_request.empty()) {
      return absl::InvalidArgumentError(
          "--pod-cpu-request: under the hpa class the pods' CPU request is "
          "the HPA's --cpu-request (millicores; or the manifest's)");
    }
    HpaCpuRequest(s, &pods);
  } else if (absl::Status st =
                 Pick("--pod-cpu-request", flags.cpu_request, ParseCpuMillis,
                      m.cpu_request_millicores, &r.cpu_request_millicores,
                      &pods.cpu_request_source);
             !st.ok()) {
    return st;
  }
  absl::Status st = Pick("--pod-cpu-limit", flags.cpu_limit, ParseCpuMillis,
                         m.cpu_limit_millicores, &r.cpu_limit_millicores,
                         &pods.cpu_limit_source);
  if (st.ok()) {
    st = Pick("--pod-memory-limit", flags.memory_limit, ParseMemoryBytes,
              m.memory_limit_bytes, &r.memory_limit_bytes,
              &pods.memory_limit_source);
  }
  if (!st.ok()) return st;
  // No flag: exported (kube_pod_container_resource_requests), not enforced.
  if (m.memory_request_bytes.has_value()) {
    r.memory_request_bytes = m.memory_request_bytes;
    pods.memory_request_source = "manifest";
  }
  st =
      AtMostLimit("CPU", r.cpu_request_millicores, r.cpu_limit_millicores, "m");
  if (st.ok()) {
    st = AtMostLimit("memory", r.memory_request_bytes, r.memory_limit_bytes,
                     " bytes");
  }
  if (!st.ok()) return st;
  return pods;
}

nlohmann::ordered_json PodResourcesJson(const PodResources& pods,
                                        const std::string& limits_enforced) {
  auto value = [](const std::optional<int64_t>& v) {
    return v.has_value() ? nlohmann::ordered_json(*v)
                         : nlohmann::ordered_json(nullptr);
  };
  const cgroups::Resources& r = pods.resources;
  return {{"cpu_request_millicores", value(r.cpu_request_millicores)},
          {"cpu_limit_millicores", value(r.cpu_limit_millicores)},
          {"memory_request_bytes", value(r.memory_request_bytes)},
          {"memory_limit_bytes", value(r.memory_limit_bytes)},
          {"sources",
           {{"cpu_request", pods.cpu_request_source},
            {"cpu_limit", pods.cpu_limit_source},
            {"memory_request", pods.memory_request_source},
            {"memory_limit", pods.memory_limit_source}}},
          {"limits_enforced", limits_enforced}};
}

}  // namespace knbench::local_serving
