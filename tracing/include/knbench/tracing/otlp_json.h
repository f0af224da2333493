#ifndef KNBENCH_TRACING_OTLP_JSON_H_
#define KNBENCH_TRACING_OTLP_JSON_H_

#include <string>
#include <vector>

#include "knbench/tracing/span.h"
#include "nlohmann/json.hpp"

namespace knbench::tracing {

// Who emits the spans: OTLP's Resource.
struct Resource {
  std::string service_name;  // service.name
  std::string pod_name;      // k8s.pod.name, where known ("" otherwise)
};

// The resource of a binary named `service_name` here: k8s.pod.name from
// POD_NAME, which the manifests set from the downward API.
Resource ResourceFromEnvironment(const std::string& service_name);

// One OTLP ExportTraceServiceRequest in OTLP/JSON: ids as lowercase hex,
// 64-bit integers (times, intValue) as decimal strings, enums as numbers
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding). Keys
// in the order of the protocol's messages, ids first, for readers of files.
nlohmann::ordered_json EncodeExportRequest(const Resource& resource,
                                           const std::vector<Span>& spans);

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_OTLP_JSON_H_
