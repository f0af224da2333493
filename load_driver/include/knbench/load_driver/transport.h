#ifndef KNBENCH_LOAD_DRIVER_TRANSPORT_H_
#define KNBENCH_LOAD_DRIVER_TRANSPORT_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/completion_queue.h"
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

// How requests leave the driver: both transports send InvokeWorker calls
// over `connections` TCP connections (round-robin), each call with the
// --timeout deadline, and record exactly one row per call.
class Transport : public Sender {
 public:
  // Connects every connection before the first send, so the run's first
  // requests do not wait for (or fail with) the connection. Returns once
  // each connection is READY or has failed a first attempt, at `deadline`,
  // or when `stop()` is true. A failed connection keeps retrying in the
  // background; its requests meanwhile fail with UNAVAILABLE.
  virtual ConnectResult Connect(absl::Time deadline,
                                const std::function<bool()>& stop) = 0;
  // Called (on the thread that records rows) after a failed call's row.
  virtual void set_on_failure(std::function<void()> f) = 0;
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
};

// The row of a call that got its answer (or its error) at `now`.
// `response` is read only for an OK status.
Row AnsweredRow(const Arrival& a, absl::Time intended, absl::Time sent,
                absl::Time now, int32_t spin_ms, int grpc_code,
                load_worker::WorkResponse* response);

// Sends InvokeWorker calls with gRPC's completion-queue API over
// `connections` channels (round-robin; each channel gets distinct args and a
// local subchannel pool, so each is its own TCP connection). The pacing
// thread starts each call; ONE thread polls the queue, records each answer's
// row and frees the call. gRPC's callback API ran the answers on threads of
// its own that handed each event to one another, costing more CPU per call
// (docs/bench.md has the figures). Every call is one heap object owning context, request and
// response; no thread blocks per call.
class GrpcTransport : public Transport {
 public:
  GrpcTransport(TransportOptions options, Clock* clock, RowSink* sink,
                DriverMetrics* metrics);
  ~GrpcTransport() override;

  int64_t inflight() const override {
    return inflight_.load(std::memory_order_relaxed);
  }
  void Send(const Arrival& a, absl::Time intended, absl::Time actual) override;
  ConnectResult Connect(absl::Time deadline,
                        const std::function<bool()>& stop) override;
  void set_on_failure(std::function<void()> f) override {
    on_failure_ = std::move(f);
  }
  bool WaitIdle(absl::Time deadline) override;
  void CancelAll() override;
  // Sleeps: the polling thread records the answers meanwhile.
  void WaitUntil(absl::Time t) override { clock_->SleepUntil(t); }

 private:
  class Call;
  void Poll();
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

  grpc::CompletionQueue cq_;
  std::thread poller_;  // Declared last: started once the rest exists.
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TRANSPORT_H_
