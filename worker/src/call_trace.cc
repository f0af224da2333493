#include "call_trace.h"

#include <string>

#include "absl/time/clock.h"
#include "knbench/tracing/exporter.h"
#include "knbench/tracing/trace_context.h"

namespace knbench::worker {
namespace {

constexpr char kService[] = "load_worker.LoadWorker";
constexpr char kMethod[] = "InvokeWorker";

}  // namespace

void CallTrace::StartTraced(tracing::SpanExporter* exporter, double root_rate,
                            const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto header = metadata.find(tracing::kTraceparentHeader);
  std::optional<tracing::SpanContext> caller;
  if (header != metadata.end()) {
    caller = tracing::ParseTraceparent(
        absl::string_view(header->second.data(), header->second.size()));
  }
  if (caller.has_value()) {
    if (!caller->sampled) return;
    server_ = tracing::ChildOf(*caller);
    parent_ = caller->span_id;
  } else {
    // No usable context: a new root, sampled at the root rate.
    if (root_rate <= 0 || tracing::UniformDraw() >= root_rate) return;
    server_ = tracing::NewRoot(true);
  }
  exporter_ = exporter;
  start_unix_ns_ = absl::GetCurrentTimeNanos();
}

void CallTrace::ExportSpin(int64_t requested_ms, SpinClock clock,
                           const SpinResult& result) {
  tracing::Span span;
  span.context = tracing::ChildOf(server_);
  span.parent = server_.span_id;
  span.name = "spin";
  span.kind = tracing::SpanKind::kInternal;
  span.start_unix_ns = spin_start_unix_ns_;
  span.end_unix_ns = absl::GetCurrentTimeNanos();
  span.attributes = {{"knbench.spin.requested_ms", requested_ms},
                     {"knbench.spin.clock", std::string(SpinClockName(clock))},
                     {"knbench.spin.spun_us",
                      static_cast<int64_t>(result.spun.count() / 1000)},
                     {"knbench.spin.interrupted", result.interrupted}};
  exporter_->Export(std::move(span));
}

void CallTrace::ExportServer(int grpc_code) {
  tracing::Span span;
  span.context = server_;
  span.parent = parent_;
  span.kind = tracing::SpanKind::kServer;
  span.start_unix_ns = start_unix_ns_;
  span.end_unix_ns = absl::GetCurrentTimeNanos();
  tracing::SetGrpcCall(&span, kService, kMethod, grpc_code);
  exporter_->Export(std::move(span));
}

}  // namespace knbench::worker
