#include "knbench/tracing/flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, otlp_endpoint, "",
          "OTLP/HTTP JSON URL spans are POSTed to, used as given (e.g. "
          "http://collector:4318/v1/traces); batched off the request path, "
          "dropped and counted (tracing_spans_dropped_total) when the "
          "collector is slow or down. Empty: none.");
ABSL_FLAG(std::string, trace_out, "",
          "File spans are appended to, one OTLP/JSON export request a line "
          "(as the Collector's file exporter writes). Empty: none.");
ABSL_FLAG(double, trace_sample_rate, 0,
          "Share (0..1) of requests that start a new trace. The driver "
          "traces this share of its requests; the worker starts a trace for "
          "this share of the calls that come without a valid traceparent "
          "(one that does come is followed: its sampled flag decides). Above "
          "0 needs --otlp-endpoint or --trace-out.");

namespace knbench::tracing {

absl::Status CheckTracingSettings(const TracingSettings& s) {
  // Written so that NaN fails too.
  if (!(s.sample_rate >= 0 && s.sample_rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--trace-sample-rate must be in [0, 1], got ", s.sample_rate));
  }
  if (!s.otlp_endpoint.empty() &&
      !absl::StartsWith(s.otlp_endpoint, "http://") &&
      !absl::StartsWith(s.otlp_endpoint, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--otlp-endpoint must be an http:// or https:// URL, got "
                     "\"",
                     s.otlp_endpoint, "\""));
  }
  if (s.sample_rate > 0 && !s.exporting()) {
    return absl::InvalidArgumentError(
        "--trace-sample-rate above 0 needs --otlp-endpoint or --trace-out");
  }
  return absl::OkStatus();
}

absl::StatusOr<TracingSettings> TracingSettingsFromFlags() {
  TracingSettings s;
  s.otlp_endpoint = absl::GetFlag(FLAGS_otlp_endpoint);
  s.trace_out = absl::GetFlag(FLAGS_trace_out);
  s.sample_rate = absl::GetFlag(FLAGS_trace_sample_rate);
  if (absl::Status st = CheckTracingSettings(s); !st.ok()) return st;
  return s;
}

absl::StatusOr<std::unique_ptr<SpanExporter>> StartExporter(
    const TracingSettings& settings, const std::string& service_name,
    prometheus::Registry& registry) {
  if (!settings.exporting()) return std::unique_ptr<SpanExporter>();
  ExporterOptions options;
  options.otlp_endpoint = settings.otlp_endpoint;
  options.trace_out = settings.trace_out;
  return SpanExporter::Start(std::move(options),
                             ResourceFromEnvironment(service_name), registry);
}

}  // namespace knbench::tracing
