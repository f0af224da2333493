#ifndef KNBENCH_WORKER_SRC_CALL_TRACE_H_
#define KNBENCH_WORKER_SRC_CALL_TRACE_H_

#include <cstdint>

#include "absl/time/clock.h"
#include "grpcpp/server_context.h"
#include "knbench/tracing/span.h"
#include "knbench/worker/spin.h"

namespace knbench::tracing {
class SpanExporter;
}

namespace knbench::worker {

// One call's spans at the worker: a server span from its arrival to its
// answer, continuing the caller's traceparent, and a child span for the
// spin. Untraced (no exporter, or not sampled), each step is one branch.
class CallTrace {
 public:
  // At the call's arrival. Traces it if `exporter` is set and either the
  // call's traceparent is valid and sampled, or it has none (or a malformed
  // one: a new root) and a draw under `root_rate` says so.
  // The checks are inline, so that an untraced call pays a branch per
  // step and no call.
  void Start(tracing::SpanExporter* exporter, double root_rate,
             const grpc::ServerContext& context) {
    if (exporter != nullptr) StartTraced(exporter, root_rate, context);
  }
  bool traced() const { return exporter_ != nullptr; }

  // Around the spin, on the thread that spins.
  void SpinStarted() {
    if (traced()) spin_start_unix_ns_ = absl::GetCurrentTimeNanos();
  }
  void SpinEnded(int64_t requested_ms, SpinClock clock,
                 const SpinResult& result) {
    if (traced()) ExportSpin(requested_ms, clock, result);
  }

  // When the answer (or error) is handed to gRPC; exports the server span.
  void End(int grpc_code) {
    if (traced()) ExportServer(grpc_code);
  }

 private:
  void StartTraced(tracing::SpanExporter* exporter, double root_rate,
                   const grpc::ServerContext& context);
  void ExportSpin(int64_t requested_ms, SpinClock clock,
                  const SpinResult& result);
  void ExportServer(int grpc_code);

  tracing::SpanExporter* exporter_ = nullptr;
  tracing::SpanContext server_;
  tracing::SpanId parent_{};  // the caller's span; zero for a root
  int64_t start_unix_ns_ = 0;
  int64_t spin_start_unix_ns_ = 0;
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_SRC_CALL_TRACE_H_
