#include "knbench/tracing/otlp_json.h"

#include <cstdlib>

namespace knbench::tracing {
namespace {

using json = nlohmann::ordered_json;

// Instrumentation scope of every span we write.
constexpr char kScopeName[] = "knbench";

json Value(const AttributeValue& value) {
  struct Visitor {
    json operator()(const std::string& s) const { return {{"stringValue", s}}; }
    json operator()(int64_t i) const {
      return {{"intValue", std::to_string(i)}};
    }
    json operator()(double d) const { return {{"doubleValue", d}}; }
    json operator()(bool b) const { return {{"boolValue", b}}; }
  };
  return std::visit(Visitor{}, value);
}

json EncodeAttributes(const Attributes& attributes) {
  json list = json::array();
  for (const auto& [key, value] : attributes) {
    list.push_back({{"key", key}, {"value", Value(value)}});
  }
  return list;
}

json EncodeSpan(const Span& span) {
  json out = {{"traceId", Hex(span.context.trace_id)},
              {"spanId", Hex(span.context.span_id)}};
  if (span.parent != SpanId{}) out["parentSpanId"] = Hex(span.parent);
  out["name"] = span.name;
  out["kind"] = static_cast<int>(span.kind);
  out["startTimeUnixNano"] = std::to_string(span.start_unix_ns);
  out["endTimeUnixNano"] = std::to_string(span.end_unix_ns);
  out["attributes"] = EncodeAttributes(span.attributes);
  json status = {{"code", static_cast<int>(span.status)}};
  if (!span.status_message.empty()) status["message"] = span.status_message;
  out["status"] = std::move(status);
  return out;
}

}  // namespace

Resource ResourceFromEnvironment(const std::string& service_name) {
  Resource resource;
  resource.service_name = service_name;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr) {
    resource.pod_name = pod;
  }
  return resource;
}

json EncodeExportRequest(const Resource& resource,
                         const std::vector<Span>& spans) {
  Attributes resource_attributes = {{"service.name", resource.service_name}};
  if (!resource.pod_name.empty()) {
    resource_attributes.emplace_back("k8s.pod.name", resource.pod_name);
  }
  json encoded = json::array();
  for (const Span& span : spans) encoded.push_back(EncodeSpan(span));
  json scope_spans = {{"scope", {{"name", kScopeName}}},
                      {"spans", std::move(encoded)}};
  json resource_spans = {
      {"resource", {{"attributes", EncodeAttributes(resource_attributes)}}},
      {"scopeSpans", json::array({std::move(scope_spans)})}};
  return {{"resourceSpans", json::array({std::move(resource_spans)})}};
}

}  // namespace knbench::tracing
