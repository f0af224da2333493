#ifndef KNBENCH_TRACING_FLAGS_H_
#define KNBENCH_TRACING_FLAGS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "knbench/tracing/exporter.h"

namespace knbench::tracing {

// The tracing flags every binary that traces takes (--otlp-endpoint,
// --trace-out, --trace-sample-rate), defined once in this library; a binary
// gets them by linking it and reading them through here.
struct TracingSettings {
  std::string otlp_endpoint;
  std::string trace_out;
  // The share of requests that start a new trace (each a coin toss).
  double sample_rate = 0;

  // Whether spans go anywhere.
  bool exporting() const {
    return !otlp_endpoint.empty() || !trace_out.empty();
  }
};

// The flags, checked: the rate in [0, 1], the endpoint an http(s) URL, and a
// rate above 0 only with somewhere to send the spans.
absl::StatusOr<TracingSettings> TracingSettingsFromFlags();
absl::Status CheckTracingSettings(const TracingSettings& settings);

// The exporter of `settings` for the binary `service_name` (its
// service.name), or null when it exports nowhere.
absl::StatusOr<std::unique_ptr<SpanExporter>> StartExporter(
    const TracingSettings& settings, const std::string& service_name,
    prometheus::Registry& registry);

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_FLAGS_H_
