// Knative's request path on one machine: the activator and each pod's
// queue-proxy, as one gRPC proxy. It forwards every unary call, whatever its
// method, to a ready pod through gRPC's generic API (no message type
// compiled in). Streaming methods it knows (streaming_methods.h) are refused
// at once with UNIMPLEMENTED: a unary proxy would hold them, and a pod, until
// their deadline.
//
// - While the activator is in the path, a call goes to a pod with free
//   capacity (at most containerConcurrency (CC) in flight per pod; with CC 0
//   the least-loaded pod). When no pod has capacity, or none is ready, calls
//   wait in one FIFO bounded by the queue depth and by each call's deadline.
// - Out of the path (Kubernetes' service round-robin), a call goes to the
//   next ready pod; with CC > 0 it waits in that pod's queue-proxy queue
//   (10 x CC deep, as Knative's) while the pod is full.
// - Overflow gets UNAVAILABLE. Cancellation and deadlines reach the pod.
// - A call is answered as the worker answers it when its body is odd: no
//   message is INTERNAL, a second message is not read (the first is the
//   request).
// - Every answer carries the pod's trailers and the call's waits in the
//   activator and in a queue-proxy (wait_trailers.h), by the router's clock.
//
// Every call with a request is counted in SecondStats from arrival to
// answer: the stat the queue-proxies and the activator report to the
// autoscaler. Every call, whatever becomes of it, is reported once to the
// observer, under the code its client saw, once gRPC is done with it.
//
// It runs on gRPC's completion-queue API, served by a thread that polls one
// queue for both sides of every call: on this machine the callback API's
// thread hand-offs cost 351 µs of CPU per proxied call at 1 000 RPS against
// 131 µs (docs/bench.md).
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_H_

#include <atomic>
#include <cstddef>
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
#include "grpcpp/alarm.h"
#include "grpcpp/channel.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/status.h"
#include "knbench/common/clock.h"
#include "knbench/local_serving/second_stats.h"

namespace knbench::local_serving {

// Limits of the router, so that no client can grow local serving without
// bound (docs/local_serving.md, "Limits"; docs.claims checks the figures).
//
// A request message larger than this gets RESOURCE_EXHAUSTED (gRPC's own
// default limit and the worker's; gRPC 1.51 buffers a message whole before
// it checks its size, so the router checks it and counts the refusal).
inline constexpr size_t kMaxMessageBytes = size_t{4} << 20;
// Request messages the router holds at once (read, not yet answered): a
// call whose message would go beyond gets UNAVAILABLE, as a full queue.
inline constexpr size_t kMessageBudgetBytes = size_t{64} << 20;
// Memory gRPC may use for its buffers across all connections (messages not
// yet read whole): under pressure it stops granting flow-control window and
// resets the streams holding the most.
inline constexpr size_t kGrpcMemoryQuotaBytes = size_t{64} << 20;
// HTTP/2 streams per connection: the queue depth plus this many, so a
// client can fill the activator's queue on one connection.
inline constexpr int kStreamsAboveQueueDepth = 1000;
// A call whose request message has not arrived whole this long after the
// call began is answered DEADLINE_EXCEEDED.
inline constexpr int kMessageTimeoutSeconds = 10;

struct RouterOptions {
  int64_t container_concurrency = 0;  // 0 = no limit per pod
  int64_t queue_depth = 10000;        // the activator's buffer
  size_t max_message_bytes = kMaxMessageBytes;
  size_t message_budget_bytes = kMessageBudgetBytes;
  absl::Duration message_timeout = absl::Seconds(kMessageTimeoutSeconds);
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

  // Serves every method on `builder`'s server, with the limits above. Call
  // before BuildAndStart.
  void Register(grpc::ServerBuilder* builder);
  // Starts accepting calls on `threads` polling threads; after BuildAndStart.
  void Start(int threads);
  // At `deadline` (real time) every call not answered yet is answered
  // UNAVAILABLE and its call at a pod cancelled; calls that arrive later
  // get UNAVAILABLE at once. For shutdown: call it before the server's
  // Shutdown, with the end of the grace; later calls change nothing.
  void AbortAt(absl::Time deadline);
  // After the server's Shutdown returned: answers what is left as AbortAt
  // does, waits until gRPC is done with every call, then stops polling.
  // Idempotent.
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
    int64_t reading = 0;        // begun, their message not read whole yet
    int64_t message_bytes = 0;  // request messages held (the budget's use)
  };
  Snapshot snapshot() const;

 private:
  class Call;
  struct Pod;
  friend class Call;

  // A completion-queue tag: which call, which operation; the router's own
  // alarms have no call.
  enum class Op { kAccept, kRead, kUpstream, kFinish, kDone, kSweep, kAbort };
  struct Tag {
    Call* call;
    Op op;
  };

  using Sends = std::vector<std::pair<Call*, std::shared_ptr<Pod>>>;
  using Answers = std::vector<std::pair<Call*, grpc::Status>>;

  void Poll();
  void Accept();
  // The router's own alarms: the sweep of late messages (every second) and
  // the abort.
  void OnAlarm(Op op, bool ok);
  void ArmSweepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // A call began: refused at once, or its message is awaited.
  void Begin(Call* call);
  // Its message was read (`ok`), or there is none.
  void OnRead(Call* call, bool ok);
  // The call's request has been read: count it, and send it to a pod, queue
  // it, or refuse it.
  void Admit(Call* call);
  // The call's pod answered: frees its slot and sends what waited for one.
  void Release(Call* call, const grpc::Status& status);
  // The client ended the call (gRPC's done notification said cancelled).
  void Cancel(Call* call);
  // Calls whose message is late get DEADLINE_EXCEEDED.
  void Sweep();
  // Every call not answered yet is answered UNAVAILABLE (those at a pod
  // once their cancelled pod call returns).
  void Abort();
  // gRPC is done with `call`: reports it to the observer, then deletes it.
  void Retire(Call* call);

  // Marks `call` answered with `status` (it leaves its list, its message
  // the budget, the system) and queues the answer in `answers`; nothing if
  // it was answered already.
  void SettleLocked(Call* call, grpc::Status status, bool answered_by_pod,
                    Answers* answers) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends answers settled under the lock.
  static void Deliver(const Answers& answers);

  // The pod an arriving call goes to now, or null after queueing it (or
  // when it must be refused: then the call is left kReading).
  std::shared_ptr<Pod> PickLocked(Call* call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<Pod> LeastLoadedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves `call` to the end of `list` (out of the one it was in, if any).
  void MoveLocked(Call* call, std::list<Call*>* list)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueLocked(Call* call, std::list<Call*>* queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A queued `call` leaves the queue it is in at `now`: the time it spent
  // there is added to its activator or queue-proxy wait.
  void EndWaitLocked(Call* call, absl::Time now)
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

  Tag sweep_tag_{nullptr, Op::kSweep};
  Tag abort_tag_{nullptr, Op::kAbort};
  grpc::Alarm sweep_alarm_;
  grpc::Alarm abort_alarm_;

  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Pod>> pods_ ABSL_GUARDED_BY(mu_);
  std::list<Call*> queue_ ABSL_GUARDED_BY(mu_);
  std::list<Call*> reading_ ABSL_GUARDED_BY(mu_);   // oldest first
  std::list<Call*> upstream_ ABSL_GUARDED_BY(mu_);  // at a pod
  bool in_path_ ABSL_GUARDED_BY(mu_) = true;
  bool aborting_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool abort_armed_ ABSL_GUARDED_BY(mu_) = false;
  size_t next_pod_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t inflight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t via_activator_ ABSL_GUARDED_BY(mu_) = 0;
  size_t message_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t live_calls_ ABSL_GUARDED_BY(mu_) = 0;  // Call objects
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_ROUTER_H_
