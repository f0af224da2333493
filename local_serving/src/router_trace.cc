// The router's spans: what a trace shows of Knative's activator and a
// pod's queue-proxy for one call (router.h, RouterTracing). Both are spans
// of one service, local-serving (an exporter's resource is per process, and
// two exporters would interleave lines of one --trace-out), so each span's
// name says which part made it.
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "knbench/local_serving/router.h"
#include "knbench/tracing/exporter.h"
#include "knbench/tracing/span.h"
#include "router_call.h"

namespace knbench::local_serving {
namespace {

// "/pkg.Service/Method" as OTel's rpc.service and rpc.method.
std::pair<std::string, std::string> ServiceAndMethod(absl::string_view path) {
  if (absl::StartsWith(path, "/")) path.remove_prefix(1);
  const size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return {"", std::string(path)};
  return {std::string(path.substr(0, slash)),
          std::string(path.substr(slash + 1))};
}

int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

}  // namespace

void Router::StartSpans(Call* call) {
  CallSpans& spans = call->spans;
  Headers::iterator header = call->metadata.end();
  std::optional<tracing::SpanContext> caller;
  for (auto it = call->metadata.begin(); it != call->metadata.end(); ++it) {
    if (it->first != tracing::kTraceparentHeader) continue;
    header = it;
    caller = tracing::ParseTraceparent(it->second);
    break;
  }
  if (caller.has_value()) {
    // The caller decided: an unsampled context goes on unchanged.
    if (!caller->sampled) return;
    spans.caller = caller->span_id;
    spans.activator = tracing::ChildOf(*caller);
  } else {
    // None, or a malformed one (ignored, never an error): a new root at the
    // root rate.
    if (tracing_.root_rate <= 0 ||
        tracing::UniformDraw() >= tracing_.root_rate) {
      return;
    }
    spans.activator = tracing::NewRoot(true);
  }
  spans.traced = true;
  spans.arrived_ns = absl::GetCurrentTimeNanos();
  spans.queue_proxy = tracing::ChildOf(spans.activator);
  // The pod continues the queue-proxy's span, as it would on a cluster.
  std::string traceparent = tracing::FormatTraceparent(spans.queue_proxy);
  if (header != call->metadata.end()) {
    header->second = std::move(traceparent);
  } else {
    call->metadata.emplace_back(tracing::kTraceparentHeader,
                                std::move(traceparent));
  }
}

void Router::ExportSpans(const Call& call, grpc::StatusCode code) {
  const CallSpans& spans = call.spans;
  const auto [service, method] = ServiceAndMethod(call.method);
  const int grpc_code = static_cast<int>(code);
  // Out of the path, the call went straight to a queue-proxy (Kubernetes'
  // service): no activator span then, as on a cluster. One refused before
  // it was read whole (its headers, its size) was refused at the door: only
  // the activator span.
  const bool activator = call.via_activator_ || !call.admitted_;
  if (activator) {
    tracing::Span span;
    span.context = spans.activator;
    span.parent = spans.caller;
    span.kind = tracing::SpanKind::kServer;
    span.start_unix_ns = spans.arrived_ns;
    span.end_unix_ns = spans.answered_ns;
    tracing::SetGrpcCall(&span, service, method, grpc_code);
    span.name = "activator";  // rpc.* name the call
    span.attributes.emplace_back("knbench.activator_wait_us",
                                 Micros(call.activator_wait_));
    tracing_.exporter->Export(std::move(span));

    // Its wait for a pod with capacity: a cold start shows here.
    tracing::Span wait;
    wait.context = tracing::ChildOf(spans.activator);
    wait.parent = spans.activator.span_id;
    wait.name = "activator wait";
    wait.kind = tracing::SpanKind::kInternal;
    wait.start_unix_ns = spans.arrived_ns;
    wait.end_unix_ns =
        spans.dispatched_ns != 0 ? spans.dispatched_ns : spans.answered_ns;
    wait.attributes = {
        {"knbench.activator_wait_us", Micros(call.activator_wait_)}};
    tracing_.exporter->Export(std::move(wait));
  }
  if (spans.dispatched_ns == 0 && activator) return;  // never reached a pod
  tracing::Span span;
  span.context = spans.queue_proxy;
  span.parent = activator ? spans.activator.span_id : spans.caller;
  span.kind = tracing::SpanKind::kServer;
  span.start_unix_ns = activator ? spans.dispatched_ns : spans.arrived_ns;
  span.end_unix_ns = spans.answered_ns;
  tracing::SetGrpcCall(&span, service, method, grpc_code);
  span.name = "queue-proxy";
  span.attributes.emplace_back("knbench.queue_wait_us",
                               Micros(call.queue_wait_));
  if (!spans.pod.empty())
    span.attributes.emplace_back("k8s.pod.name", spans.pod);
  tracing_.exporter->Export(std::move(span));
}

}  // namespace knbench::local_serving
