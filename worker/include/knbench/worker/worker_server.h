#ifndef KNBENCH_WORKER_WORKER_SERVER_H_
#define KNBENCH_WORKER_WORKER_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "knbench/worker/side_services.h"
#include "knbench/worker/worker_service.h"
#include "prometheus/registry.h"

namespace knbench::worker {

// Transport limits of the worker's gRPC server (README, "worker").
//
// HTTP/2 streams per connection: --max-inflight plus this many, so a client
// at the limit still gets RESOURCE_EXHAUSTED answers (and health checks get
// through) instead of having its calls queued.
inline constexpr int kStreamsAboveMaxInflight = 100;
int MaxStreamsPerConnection(int max_inflight);
// Memory gRPC may use for buffers across all connections: under pressure it
// cancels the streams holding the most (RST_STREAM ENHANCE_YOUR_CALM).
inline constexpr size_t kGrpcMemoryQuotaBytes = size_t{128} << 20;
// Largest message gRPC itself accepts (its default, made explicit); the
// service refuses, and counts, anything above kMaxRequestBytes below it.
inline constexpr int kMaxGrpcMessageBytes = 4 << 20;

// The worker's gRPC server: LoadWorker, grpc.health.v1 and reflection on one
// port, all on one completion queue polled by one thread. Shared by main()
// and the in-process tests.
class WorkerServer {
 public:
  WorkerServer(WorkerOptions options,
               std::shared_ptr<prometheus::Registry> registry);
  ~WorkerServer();

  // Listens on `address`:`port`; port 0 picks a free one (see port()).
  absl::Status Start(const std::string& address, int port);
  int port() const { return port_; }

  // Health turns NOT_SERVING, new calls are refused, and calls in flight get
  // until `grace` to finish before they are cancelled. Returns once the
  // server has stopped.
  void Shutdown(absl::Duration grace);

  WorkerService& service() { return service_; }

 private:
  WorkerService service_;
  SideServices side_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::unique_ptr<grpc::Server> server_;
  std::thread poller_;
  int port_ = 0;
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_WORKER_SERVER_H_
