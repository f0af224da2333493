#ifndef KNBENCH_WORKER_SIDE_SERVICES_H_
#define KNBENCH_WORKER_SIDE_SERVICES_H_

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server_builder.h"
#include "knbench/worker/live_calls.h"

namespace knbench::worker {

inline constexpr char kHealthService[] = "grpc.health.v1.Health";

// The services beside LoadWorker on the worker's port: grpc.health.v1
// (Check, as Kubernetes and local_serving probe it, and Watch) and server
// reflection. They are answered through one AsyncGenericService on the
// worker's completion queue, so the worker runs no synchronous or callback
// service: either would bring gRPC threads of its own that compete with the
// polling thread for the sockets. Methods nobody serves get UNIMPLEMENTED,
// as gRPC itself answers them.
class SideServices {
 public:
  // `services` are the names reflection lists, besides its own and health.
  explicit SideServices(std::vector<std::string> services);
  ~SideServices();
  SideServices(const SideServices&) = delete;
  SideServices& operator=(const SideServices&) = delete;

  // Before the server is built.
  void Register(grpc::ServerBuilder* builder);
  // After it started: takes calls from `cq`, one posted request at a time.
  void StartServing(grpc::ServerCompletionQueue* cq);

  // Health turns NOT_SERVING for good: Check answers it, and every Watch
  // stream is sent it and ended, so that draining does not wait on them.
  void SetNotServing();
  bool serving() const { return serving_.load(); }
  // Calls that arrived and are not over.
  LiveCalls& live_calls() { return live_; }

 private:
  class Call;

  grpc::AsyncGenericService generic_;
  const std::vector<std::string> services_;  // For reflection.
  std::atomic<bool> serving_{true};
  LiveCalls live_;
  std::mutex mu_;
  std::set<Call*> watchers_;  // Guarded by mu_: Watch streams waiting.
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_SIDE_SERVICES_H_
