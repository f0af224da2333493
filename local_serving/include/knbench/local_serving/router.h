// Knative's request path on one machine: the activator and each pod's
// queue-proxy, as one gRPC proxy. It forwards every unary call, whatever its
// method, to a ready pod through gRPC's generic API (no proto compiled in):
//
// - While the activator is in the path, a call goes to a pod with free
//   capacity (at most containerConcurrency (CC) in flight per pod; with CC 0
//   the least-loaded pod). When no pod has capacity, or none is ready, calls
//   wait in one FIFO bounded by the queue depth and by each call's deadline.
// - Out of the path (Kubernetes' service round-robin), a call goes to the
//   next ready pod; with CC > 0 it waits in that pod's queue-proxy queue
//   (10 x CC deep, as Knative's) while the pod is full.
// - Overflow gets UNAVAILABLE. Cancellation and deadlines reach the pod.
//
// Every call is counted in SecondStats from arrival to answer: the stat the
// queue-proxies and the activator report to the autoscaler.
//
// It runs on gRPC's completion-queue API, served by a thread that polls one
// queue for both sides of every call: on this machine the callback API's
// thread hand-offs cost 351 µs of CPU per proxied call at 1 000 RPS against
// 131 µs (docs/bench.md).
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/status.h"
#include "knbench/common/clock.h"
#include "knbench/local_serving/second_stats.h"

namespace knbench::local_serving {

struct RouterOptions {
  int64_t container_concurrency = 0;  // 0 = no limit per pod
  int64_t queue_depth = 10000;        // the activator's buffer
};

// What the router reports as each call ends (for metrics).
class RouterObserver {
 public:
  virtual ~RouterObserver() = default;
  // `via_activator`: the call arrived while the activator was in the path;
  // `answered_by_pod`: the status came from a pod, not from the router.
  virtual void OnCallDone(grpc::StatusCode code, bool via_activator,
                          bool answered_by_pod, absl::Duration latency) = 0;
};

class Router {
 public:
  // `stats`, `observer` and `clock` must outlive the router; `observer` may
  // be null. `clock` times each call from arrival to answer (SecondStats,
  // the observer's latency); null: a steady clock.
  Router(RouterOptions options, SecondStats* stats, RouterObserver* observer,
         Clock* clock = nullptr);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Serves every method on `builder`'s server. Call before BuildAndStart.
  void Register(grpc::ServerBuilder* builder);
  // Starts accepting calls on `threads` polling threads; after BuildAndStart.
  void Start(int threads);
  // After the server's Shutdown returned: stops polling. Idempotent.
  void Stop();

  // A ready pod joins the routing set; waiting calls are sent to it. The
  // channel should already be connected (the readiness probe used it).
  void AddPod(const std::string& name, std::shared_ptr<grpc::Channel> channel);
  // The pod leaves the routing set: no new calls; calls in flight on it go
  // on; calls waiting in its queue-proxy go back to the activator's queue.
  void RemovePod(const std::string& name);

  void SetActivatorInPath(bool in_path);
  // `on_arrival` runs (on a gRPC thread) for every arriving call while
  // enabled: the autoscaler's poke.
  void SetArrivalHook(std::function<void()> on_arrival);
  void EnableArrivalHook(bool enabled) { hook_enabled_.store(enabled); }

  struct Snapshot {
    bool activator_in_path = false;
    int64_t queued = 0;         // activator buffer + queue-proxy queues
    int64_t inflight = 0;       // sent to a pod, not answered
    int64_t via_activator = 0;  // in the system, arrived through the activator
  };
  Snapshot snapshot() const;

 private:
  class Call;
  struct Pod;
  friend class Call;

  void Poll();
  void Accept();

  using Sends = std::vector<std::pair<Call*, std::shared_ptr<Pod>>>;

  // The call's request has been read: count it, and send it to a pod, queue
  // it, or refuse it.
  void Admit(Call* call);
  // The call's pod answered: frees its slot and sends what waited for one.
  void Release(Call* call, const grpc::Status& status);
  void Cancel(Call* call);
  // Answers an admitted call.
  void Answer(Call* call, const grpc::Status& status, bool answered_by_pod);

  // The pod an arriving call goes to now, or null after queueing it (or
  // when it must be refused: then the call is left kReading).
  std::shared_ptr<Pod> PickLocked(Call* call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<Pod> LeastLoadedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueLocked(Call* call, std::list<Call*>* queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Books `call` on `pod` (out of its queue, counted in flight); the caller
  // starts the upstream call.
  void AssignLocked(Call* call, const std::shared_ptr<Pod>& pod)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pairs calls waiting in the activator with pods that have capacity.
  void DrainLocked(Sends* sends) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(const Sends& sends);

  const RouterOptions options_;
  SecondStats* const stats_;
  RouterObserver* const observer_;
  Clock* const clock_;
  grpc::AsyncGenericService service_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> pollers_;
  std::function<void()> on_arrival_;
  std::atomic<bool> hook_enabled_{false};

  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Pod>> pods_ ABSL_GUARDED_BY(mu_);
  std::list<Call*> queue_ ABSL_GUARDED_BY(mu_);
  bool in_path_ ABSL_GUARDED_BY(mu_) = true;
  size_t next_pod_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t inflight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t via_activator_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_ROUTER_H_
