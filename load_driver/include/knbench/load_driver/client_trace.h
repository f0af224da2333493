#ifndef KNBENCH_LOAD_DRIVER_CLIENT_TRACE_H_
#define KNBENCH_LOAD_DRIVER_CLIENT_TRACE_H_

#include <string>

#include "absl/time/time.h"
#include "knbench/tracing/trace_context.h"

namespace knbench::tracing {
class SpanExporter;
}

namespace knbench::load_driver {

struct Outgoing;

// The driver's side of a trace: which requests start one (a coin toss at
// --trace-sample-rate each), and the client span of each that did, from
// its actual send to its answer. Transports only hold one when the rate is
// above 0, so that with tracing off a send costs one branch.
class ClientTracer {
 public:
  ClientTracer(tracing::SpanExporter* exporter, double sample_rate,
               std::string target);

  // On the pacing thread: whether this request is traced; if so, fills
  // `context` with a new root (the client span's own ids).
  bool Sample(tracing::SpanContext* context);
  // When a traced call ended with `grpc_code` at `now`: its client span.
  void End(const Outgoing& call, int grpc_code, absl::Time now);

 private:
  tracing::SpanExporter* const exporter_;
  const double sample_rate_;
  const std::string target_;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_CLIENT_TRACE_H_
