#include "knbench/tracing/span.h"

#include "absl/strings/str_cat.h"

namespace knbench::tracing {
namespace {

// gRPC codes a server span reports as errors (semantic conventions, "gRPC
// status"): UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
// UNAVAILABLE, DATA_LOSS. The rest are the client's doing.
bool ServerError(int grpc_code) {
  switch (grpc_code) {
    case 2:
    case 4:
    case 12:
    case 13:
    case 14:
    case 15:
      return true;
    default:
      return false;
  }
}

}  // namespace

SpanContext ChildOf(const SpanContext& parent) {
  SpanContext child = parent;
  child.span_id = NewSpanId();
  return child;
}

SpanContext NewRoot(bool sampled) {
  SpanContext root;
  root.trace_id = NewTraceId();
  root.span_id = NewSpanId();
  root.sampled = sampled;
  return root;
}

void SetGrpcCall(Span* span, const std::string& service,
                 const std::string& method, int grpc_code) {
  span->name = absl::StrCat(service, "/", method);
  span->attributes.emplace_back("rpc.system", std::string("grpc"));
  span->attributes.emplace_back("rpc.service", service);
  span->attributes.emplace_back("rpc.method", method);
  span->attributes.emplace_back("rpc.grpc.status_code",
                                static_cast<int64_t>(grpc_code));
  const bool error =
      span->kind == SpanKind::kServer ? ServerError(grpc_code) : grpc_code != 0;
  span->status = error ? StatusCode::kError : StatusCode::kUnset;
}

}  // namespace knbench::tracing
