#ifndef KNBENCH_TRACING_SPAN_H_
#define KNBENCH_TRACING_SPAN_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "knbench/tracing/trace_context.h"

namespace knbench::tracing {

// OTLP's SpanKind and Status.StatusCode values (opentelemetry-proto
// trace.proto), which OTLP/JSON writes as numbers.
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };
enum class StatusCode { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<std::string, int64_t, double, bool>;
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

// One finished span, as a value: whoever ends an operation fills it and
// hands it to a SpanExporter.
struct Span {
  SpanContext context;  // its trace id and its own span id
  SpanId parent{};      // all zero for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  Attributes attributes;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
};

// The child of `parent`: same trace and sampling, a new span id.
SpanContext ChildOf(const SpanContext& parent);
// A new root: a new trace id and span id.
SpanContext NewRoot(bool sampled);

// OpenTelemetry's semantic conventions for a gRPC call's span: name
// "<service>/<method>", rpc.system, rpc.service, rpc.method and
// rpc.grpc.status_code, and the status a client or server span gets for the
// call's gRPC code (a server span marks only the codes that are the
// server's fault as errors).
void SetGrpcCall(Span* span, const std::string& service,
                 const std::string& method, int grpc_code);

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_SPAN_H_
