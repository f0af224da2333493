#ifndef KNBENCH_LOAD_DRIVER_TRANSPORT_H_
#define KNBENCH_LOAD_DRIVER_TRANSPORT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "knbench/common/clock.h"
#include "knbench/load_driver/pacer.h"
#include "knbench/load_driver/row.h"
#include "knbench/load_driver/target.h"
#include "knbench/tracing/trace_context.h"

namespace load_worker {
class WorkResponse;
}

namespace knbench::load_driver {

class ClientTracer;
class DriverMetrics;

struct TransportOptions {
  Target target;
  int connections = 1;
  absl::Duration timeout = absl::Seconds(30);
  // Longest a connection attempt may take (gRPC's minimum connect timeout,
  // which its default of 20 s also is).
  absl::Duration connect_timeout = absl::Seconds(20);
  int32_t spin_ms = 100;
  // Null unless --trace-sample-rate is above 0.
  ClientTracer* tracer = nullptr;
};

// A request as it left: what its row needs besides the answer.
struct Outgoing {
  Arrival arrival;
  absl::Time intended;  // when the schedule wanted it sent
  absl::Time sent;      // when it was
  // Its client span's ids, when traced (trace.sampled).
  tracing::SpanContext trace;
};

// How connecting before the run went.
struct ConnectResult {
  int ready = 0;   // channels connected
  int failed = 0;  // channels whose first attempt failed (TRANSIENT_FAILURE)
  absl::Duration took;
};

// How requests leave the driver: each transport sends InvokeWorker calls
// over `connections` TCP connections (round-robin), each call with the
// --timeout deadline, and records exactly one row per call. The count of
// calls in flight and the ending of a call (its row, metrics, --fail-fast)
// are the same for every transport and live here, without a virtual call.
class Transport : public Sender {
 public:
  Transport(TransportOptions options, Clock* clock, RowSink* sink,
            DriverMetrics* metrics)
      : options_(std::move(options)),
        clock_(clock),
        sink_(sink),
        metrics_(metrics) {}

  int64_t inflight() const final {
    return inflight_.load(std::memory_order_acquire);
  }
  // Called (on the thread that records rows) after a failed call's row.
  void set_on_failure(std::function<void()> f) { on_failure_ = std::move(f); }

  // Connects every connection before the first send, so the run's first
  // requests do not wait for (or fail with) the connection. Returns once
  // each connection is READY or has failed a first attempt, at `deadline`,
  // or when `stop()` is true. A failed connection keeps retrying in the
  // background; its requests meanwhile fail with UNAVAILABLE.
  virtual ConnectResult Connect(absl::Time deadline,
                                const std::function<bool()>& stop) = 0;
  // Waits until no call is in flight or `deadline`; true if none is left.
  virtual bool WaitIdle(absl::Time deadline) = 0;
  // Cancels every call in flight; each still records its row (CANCELLED).
  virtual void CancelAll() = 0;
  // How the pacing thread waits for the next send: the transport may use
  // the wait to read and record answers.
  virtual void WaitUntil(absl::Time t) = 0;
  // Why the last connection attempt failed or a connection was lost, if
  // the transport knows ("" otherwise): for the log.
  virtual std::string last_error() const { return ""; }

 protected:
  // A call is leaving: counted in flight from now.
  void Started();
  // Whether `call` is traced (then `call->trace` is set and its traceparent
  // goes with it). With tracing off, one branch.
  bool Traced(Outgoing* call) {
    return options_.tracer != nullptr && StartTrace(call);
  }
  // A call ended with `grpc_code` (`response` is read for OK only) and the
  // waits its trailers reported: records its one row, then counts it out of
  // flight, so that "idle" means "every row is in". Returns the calls still
  // in flight.
  int64_t Ended(const Outgoing& call, int grpc_code,
                load_worker::WorkResponse* response, RouterWaits waits = {});

  const TransportOptions options_;
  Clock* const clock_;

 private:
  bool StartTrace(Outgoing* call);

  RowSink* const sink_;
  DriverMetrics* const metrics_;
  std::atomic<int64_t> inflight_{0};
  std::function<void()> on_failure_;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TRANSPORT_H_
