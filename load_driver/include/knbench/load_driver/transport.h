#ifndef KNBENCH_LOAD_DRIVER_TRANSPORT_H_
#define KNBENCH_LOAD_DRIVER_TRANSPORT_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/load_driver/clock.h"
#include "knbench/load_driver/metrics.h"
#include "knbench/load_driver/pacer.h"
#include "knbench/load_driver/row.h"
#include "load_worker.grpc.pb.h"

namespace knbench::load_driver {

struct TransportOptions {
  std::string target;
  int connections = 1;
  absl::Duration timeout = absl::Seconds(30);
  // Longest a connection attempt may take (gRPC's minimum connect timeout,
  // which its default of 20 s also is).
  absl::Duration connect_timeout = absl::Seconds(20);
  int32_t spin_ms = 100;
};

// How connecting before the run went.
struct ConnectResult {
  int ready = 0;   // channels connected
  int failed = 0;  // channels whose first attempt failed (TRANSIENT_FAILURE)
  absl::Duration took;
};

// Sends InvokeWorker calls with gRPC's callback API over `connections`
// channels (round-robin; each channel gets distinct args and a local
// subchannel pool, so each is its own TCP connection). Every call is one heap
// object (a ClientUnaryReactor owning context, request and response) that
// records its row and deletes itself when done; no thread blocks per call.
class GrpcTransport : public Sender {
 public:
  GrpcTransport(TransportOptions options, Clock* clock, RowSink* sink,
                DriverMetrics* metrics);
  ~GrpcTransport() override;

  int64_t inflight() const override {
    return inflight_.load(std::memory_order_relaxed);
  }
  void Send(const Arrival& a, absl::Time intended, absl::Time actual) override;

  // Connects every channel before the first send, so the run's first
  // requests do not wait for (or fail with) the connection. Returns once
  // each channel is READY or has failed a first attempt, at `deadline`, or
  // when `stop()` is true. A failed channel keeps retrying in the
  // background; its requests meanwhile fail with UNAVAILABLE.
  ConnectResult Connect(absl::Time deadline, const std::function<bool()>& stop);

  // Called (on a gRPC thread) after a failed call has been recorded.
  void set_on_failure(std::function<void()> f) { on_failure_ = std::move(f); }

  // Waits until no call is in flight or `deadline`; true if none is left.
  bool WaitIdle(absl::Time deadline);
  // Cancels every call in flight; each still records its row (CANCELLED).
  void CancelAll();

 private:
  class Call;
  void Done(Call* call);

  TransportOptions options_;
  Clock* clock_;
  RowSink* sink_;
  DriverMetrics* metrics_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<load_worker::LoadWorker::Stub>> stubs_;
  size_t next_stub_ = 0;  // pacing thread only
  std::atomic<int64_t> inflight_{0};
  std::function<void()> on_failure_;

  // Calls in flight, as an intrusive list, so CancelAll can reach them. The
  // lock covers a pointer splice only, never the send itself.
  std::mutex mu_;
  std::condition_variable idle_cv_;
  Call* head_ = nullptr;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TRANSPORT_H_
