#include "knbench/load_driver/transport.h"

#include "knbench/load_driver/client_trace.h"
#include "knbench/load_driver/metrics.h"
#include "load_worker.pb.h"

namespace knbench::load_driver {
namespace {

// The row of a call that got its answer (or its error) at `now`.
// `response` is read only for an OK status.
Row AnsweredRow(const Outgoing& call, absl::Time now, int32_t spin_ms,
                int grpc_code, load_worker::WorkResponse* response) {
  const Arrival& a = call.arrival;
  const absl::Time intended = call.intended;
  const absl::Time sent = call.sent;
  Row row;
  row.seq = a.seq;
  row.intended_unix_ns = absl::ToUnixNanos(intended);
  row.rps = a.rps;
  row.spin_ms = spin_ms;
  const bool ok = grpc_code == 0;
  row.status = ok ? RowStatus::kSuccess : RowStatus::kFailure;
  row.latency_us = absl::ToInt64Microseconds(now - sent);
  row.intended_latency_us = absl::ToInt64Microseconds(now - intended);
  row.lag_us = absl::ToInt64Microseconds(sent - intended);
  row.grpc_code = grpc_code;
  if (ok && response != nullptr) {
    row.pod = std::move(*response->mutable_pod());
    row.server_spin_us = response->spin_us();
  }
  row.phase = a.phase;
  row.warmup = a.warmup;
  return row;
}

}  // namespace

void Transport::Started() {
  const int64_t n = inflight_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (metrics_) metrics_->SetInflight(static_cast<double>(n));
}

bool Transport::StartTrace(Outgoing* call) {
  return options_.tracer->Sample(&call->trace);
}

int64_t Transport::Ended(const Outgoing& call, int grpc_code,
                         load_worker::WorkResponse* response,
                         RouterWaits waits) {
  const absl::Time now = clock_->Now();
  if (call.trace.sampled) options_.tracer->End(call, grpc_code, now);
  Row row = AnsweredRow(call, now, options_.spin_ms, grpc_code, response);
  row.waits = waits;
  const bool ok = grpc_code == 0;
  if (metrics_) {
    metrics_->OnCompleted(ok, row.latency_us, row.intended_latency_us);
  }
  sink_->Record(std::move(row));
  // Release: whoever sees the count drop (WaitIdle) sees the row recorded.
  const int64_t left = inflight_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (metrics_) metrics_->SetInflight(static_cast<double>(left));
  if (!ok && on_failure_) on_failure_();
  return left;
}

}  // namespace knbench::load_driver
