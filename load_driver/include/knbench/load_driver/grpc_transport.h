#ifndef KNBENCH_LOAD_DRIVER_GRPC_TRANSPORT_H_
#define KNBENCH_LOAD_DRIVER_GRPC_TRANSPORT_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/completion_queue.h"
#include "knbench/load_driver/transport.h"
#include "load_worker.grpc.pb.h"

namespace knbench::load_driver {

// Sends InvokeWorker calls with gRPC's completion-queue API over
// `connections` channels (round-robin; each channel gets distinct args and a
// local subchannel pool, so each is its own TCP connection). The pacing
// thread starts each call; ONE thread polls the queue, records each answer's
// row and frees the call. gRPC's callback API ran the answers on threads of
// its own that handed each event to one another, costing more CPU per call
// (docs/bench.md has the figures). Every call is one heap object owning
// context, request and response; no thread blocks per call.
class GrpcTransport : public Transport {
 public:
  GrpcTransport(TransportOptions options, Clock* clock, RowSink* sink,
                DriverMetrics* metrics);
  ~GrpcTransport() override;

  void Send(const Arrival& a, absl::Time intended, absl::Time actual) override;
  ConnectResult Connect(absl::Time deadline,
                        const std::function<bool()>& stop) override;
  bool WaitIdle(absl::Time deadline) override;
  void CancelAll() override;
  // Sleeps: the polling thread records the answers meanwhile.
  void WaitUntil(absl::Time t) override { clock_->SleepUntil(t); }

 private:
  class Call;
  void Poll();
  void Done(Call* call);

  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<load_worker::LoadWorker::Stub>> stubs_;
  size_t next_stub_ = 0;  // pacing thread only

  // Calls in flight, as an intrusive list, so CancelAll can reach them. The
  // lock covers a pointer splice only, never the send itself.
  std::mutex mu_;
  std::condition_variable idle_cv_;
  Call* head_ = nullptr;

  grpc::CompletionQueue cq_;
  std::thread poller_;  // Declared last: started once the rest exists.
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_GRPC_TRANSPORT_H_
