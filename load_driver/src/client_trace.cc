#include "knbench/load_driver/client_trace.h"

#include <utility>

#include "knbench/load_driver/transport.h"
#include "knbench/tracing/exporter.h"
#include "knbench/tracing/span.h"

namespace knbench::load_driver {

ClientTracer::ClientTracer(tracing::SpanExporter* exporter, double sample_rate,
                           std::string target)
    : exporter_(exporter),
      sample_rate_(sample_rate),
      target_(std::move(target)) {}

bool ClientTracer::Sample(tracing::SpanContext* context) {
  if (sample_rate_ < 1 && tracing::UniformDraw() >= sample_rate_) {
    return false;
  }
  *context = tracing::NewRoot(true);
  return true;
}

void ClientTracer::End(const Outgoing& call, int grpc_code, absl::Time now) {
  tracing::Span span;
  span.context = call.trace;
  span.kind = tracing::SpanKind::kClient;
  span.start_unix_ns = absl::ToUnixNanos(call.sent);
  span.end_unix_ns = absl::ToUnixNanos(now);
  tracing::SetGrpcCall(&span, "load_worker.LoadWorker", "InvokeWorker",
                       grpc_code);
  // The row this span is (seq), and how late it left (lag: from the
  // intended send to the actual one, before the span starts).
  span.attributes.emplace_back("server.address", target_);
  span.attributes.emplace_back("knbench.seq", call.arrival.seq);
  span.attributes.emplace_back(
      "knbench.lag_us", absl::ToInt64Microseconds(call.sent - call.intended));
  exporter_->Export(std::move(span));
}

}  // namespace knbench::load_driver
