#ifndef KNBENCH_TRACING_TRACE_CONTEXT_H_
#define KNBENCH_TRACING_TRACE_CONTEXT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace knbench::tracing {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// Where a span sits in its trace, as W3C Trace Context carries it
// (https://www.w3.org/TR/trace-context/): all-zero ids are invalid.
struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = false;

  bool valid() const;
};

// The name of the header (gRPC metadata key) that carries a SpanContext.
inline constexpr char kTraceparentHeader[] = "traceparent";

// `value` of a traceparent header, or nothing when it is not one a
// version-00 parser accepts: the caller then starts a new root, as the
// specification asks, and never fails the request for it. Versions above 00
// are read by their first four fields, as the specification says to.
std::optional<SpanContext> ParseTraceparent(absl::string_view value);

// "00-<trace id>-<span id>-<flags>", lowercase hex.
std::string FormatTraceparent(const SpanContext& context);

// Lowercase hex, as traceparent and OTLP/JSON write ids.
std::string Hex(const TraceId& id);
std::string Hex(const SpanId& id);

// Random, valid (non-zero) ids from a per-thread generator: cheap enough to
// call on a request path, safe from any thread.
TraceId NewTraceId();
SpanId NewSpanId();

// A uniform draw in [0, 1) from the same per-thread generator: the sampling
// decision of a new root.
double UniformDraw();

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_TRACE_CONTEXT_H_
