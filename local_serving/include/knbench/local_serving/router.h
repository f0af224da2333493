// Knative's request path on one machine: the activator and each pod's
// queue-proxy, as one gRPC proxy. It forwards every unary call, whatever its
// method, to a ready pod (no message type compiled in). Streaming methods it
// knows (streaming_methods.h) are refused at once with UNIMPLEMENTED: a unary
// proxy would hold them, and a pod, until their deadline.
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
//   activator and in a queue-proxy (common/wait_trailers.h), by the router's
//   clock.
// - With a RouterTracing exporter, a sampled call gets the activator's and
//   the queue-proxy's spans, and the pod the queue-proxy span as parent
//   (router_trace.cc).
//
// Every call with a request is counted in SecondStats from arrival to
// answer: the stat the queue-proxies and the activator report to the
// autoscaler. Every call, whatever becomes of it, is reported once to the
// observer, under the code its client saw, once both its streams are closed.
//
// It is an HTTP/2-level proxy on nghttp2, not a gRPC server and client:
// a server session per client connection (h2c with prior knowledge, as
// gRPC clients speak plaintext), a client session per pod, and the
// request's one length-prefixed message and the answer's frames forwarded
// as bytes, all on one thread's epoll loop. Through gRPC's completion-queue
// API the proxy cost 144 and 107 us of CPU per call at 1 000 and 5 000 RPS,
// 2.3 and 2.1x the worker behind it, 42 % of it in gRPC's core; on nghttp2,
// measured the same way one run later, 76 and 53 us, 1.2 and 1.1x
// (docs/bench.md).
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "knbench/common/clock.h"
#include "knbench/local_serving/second_stats.h"

struct nghttp2_session_callbacks;

namespace knbench::tracing {
class SpanExporter;
}

namespace knbench::local_serving {

// Limits of the router, so that no client can grow local serving without
// bound (docs/local_serving.md, "Limits"; docs.claims checks the figures).
//
// A request message larger than this gets RESOURCE_EXHAUSTED as soon as its
// length prefix arrives (gRPC's own default limit and the worker's).
inline constexpr size_t kMaxMessageBytes = size_t{4} << 20;
// Request messages the router holds at once, counted whole from their
// length prefix on (arriving, queued, or on their way to a pod): a call
// whose message would go beyond gets UNAVAILABLE, as a full queue.
inline constexpr size_t kMessageBudgetBytes = size_t{64} << 20;
// What a pod may answer: a larger response gets RESOURCE_EXHAUSTED, as
// gRPC's client limit gives it.
inline constexpr size_t kMaxResponseBytes = size_t{4} << 20;
// HTTP/2 streams per connection: the queue depth plus this many, so a
// client can fill the activator's queue on one connection.
inline constexpr int kStreamsAboveQueueDepth = 1000;
// A call whose headers pass this many bytes (names, values and 32 for
// each, as HTTP/2's header list size counts them) gets RESOURCE_EXHAUSTED:
// the router holds them while the call waits (gRPC's default limit, which
// the worker applies too).
inline constexpr size_t kMaxMetadataBytes = size_t{8} << 10;
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

// Where the router's spans go (docs/local_serving.md, "Traces"). A call
// whose traceparent is valid and sampled is traced; one without a valid
// traceparent starts a trace at `root_rate`.
struct RouterTracing {
  tracing::SpanExporter* exporter = nullptr;  // null: nothing is traced
  double root_rate = 0;
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

  // Listens on `host`:`port` (0: a free one), without SO_REUSEPORT: a
  // port another process holds is an error. Returns the port.
  absl::StatusOr<int> Listen(const std::string& host, int port);
  // Starts serving on the router's thread; after Listen.
  void Start();
  // At `deadline` (real time) every call not answered yet is answered
  // UNAVAILABLE and its call at a pod cancelled; calls that arrive later
  // get UNAVAILABLE at once. For shutdown: call it before Drain, with the
  // end of the grace; later calls change nothing.
  void AbortAt(absl::Time deadline);
  // Refuses new calls (GOAWAY on every connection, the listener closed),
  // then waits until every call is answered or `deadline` (real time).
  void Drain(absl::Time deadline);
  // Answers what is left as AbortAt does, lets the answers go out (1 s at
  // most), closes every connection and stops the thread. Idempotent.
  void Stop();

  // A ready pod joins the routing set at `address` (host:port); waiting
  // calls are sent to it.
  void AddPod(const std::string& name, const std::string& address);
  // The pod leaves the routing set: no new calls; calls in flight on it go
  // on; calls waiting in its queue-proxy go back to the activator's queue.
  void RemovePod(const std::string& name);

  void SetActivatorInPath(bool in_path);
  // Before Start; `tracing.exporter` must outlive the router's thread.
  void SetTracing(RouterTracing tracing) { tracing_ = tracing; }
  // `on_arrival` runs (on the router's thread) for every arriving call while
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
  struct Conn;
  struct Pod;
  friend class Call;
  friend struct Conn;
  struct Callbacks;

  using Sends = std::vector<std::pair<Call*, std::shared_ptr<Pod>>>;
  using Answers = std::vector<std::pair<Call*, grpc::Status>>;

  // The loop (router_loop.cc). Everything below runs on its thread except
  // Post, snapshot and the mutex-guarded counters.
  void Run();
  // Runs `task` on the router's thread, before any event that comes after.
  void Post(std::function<void()> task);
  void RunPosted();
  void Accept();
  void OnConnEvent(Conn* conn, uint32_t events);
  void Read(Conn* conn);
  // Writes what nghttp2 has queued; false if the connection died.
  bool Flush(Conn* conn);
  void FlushAll();
  // Closes the connection: its streams end as a lost connection ends them.
  void Drop(Conn* conn);
  // A connection to `pod`, connecting.
  Conn* Dial(Pod* pod);
  void OnTimer();
  absl::Time NextTimer();
  // Refuses new calls on every connection.
  void GoAway();

  // The streams (router_streams.cc): the request's headers were read.
  void Begin(Call* call);
  // Its message's length is known: reserved in the budget, or refused.
  void Reserve(Call* call, size_t length);
  // Its message was read whole (`ok`), or the request ended without one.
  void OnRead(Call* call, bool ok);
  // The call's request has been read: count it, and send it to a pod, queue
  // it, or refuse it.
  void Admit(Call* call);
  // The call's pod answered: frees its slot and sends what waited for one.
  void Release(Call* call, const grpc::Status& status);
  // The client ended the call (RST_STREAM, or its connection went).
  void Cancel(Call* call);
  // Calls whose message is late get DEADLINE_EXCEEDED.
  void Sweep();
  // Calls past their grpc-timeout get DEADLINE_EXCEEDED.
  void ExpireDeadlines(absl::Time now);
  // Every call not answered yet is answered UNAVAILABLE (those at a pod
  // once their cancelled pod call returns).
  void Abort();
  // Both its streams are closed: reports it to the observer, deletes it.
  void MaybeRetire(Call* call);
  // Its spans (router_trace.cc): decides at its arrival whether it is
  // traced (and, if so, names its queue-proxy span in the traceparent it
  // forwards); exports them once it is retired, under the code its client
  // saw.
  void StartSpans(Call* call);
  void ExportSpans(const Call& call, grpc::StatusCode code);
  // Sends the request to its pod (StartUpstream) and the answer to the
  // client (Answer), as HTTP/2 frames.
  void StartUpstream(Call* call, Pod* pod);
  void Answer(Call* call, const grpc::Status& status);

  // Marks `call` answered with `status` (it leaves its list, its message
  // the budget, the system) and queues the answer in `answers`; nothing if
  // it was answered already.
  void SettleLocked(Call* call, grpc::Status status, bool answered_by_pod,
                    Answers* answers) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends answers settled under the lock.
  void Deliver(const Answers& answers);

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
  // The pods' side of AddPod, RemovePod, SetActivatorInPath.
  void AddPodNow(const std::string& name, const std::string& address);
  void RemovePodNow(const std::string& name, absl::Time now);

  const RouterOptions options_;
  SecondStats* const stats_;
  RouterObserver* const observer_;
  Clock* const clock_;
  std::function<void()> on_arrival_;
  std::atomic<bool> hook_enabled_{false};
  RouterTracing tracing_;
  nghttp2_session_callbacks* server_callbacks_ = nullptr;
  nghttp2_session_callbacks* client_callbacks_ = nullptr;

  // The loop's own; touched on its thread only.
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: a task was posted
  int timer_fd_ = -1;  // the next deadline, sweep or abort
  absl::Time armed_ = absl::InfiniteFuture();  // the timer's, if set
  absl::Time next_sweep_ = absl::InfiniteFuture();
  absl::Time abort_at_ = absl::InfiniteFuture();
  std::map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;
  std::multimap<absl::Time, Call*> deadlines_;
  bool going_away_ = false;
  std::thread thread_;

  absl::Mutex posted_mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(posted_mu_);
  bool quit_ ABSL_GUARDED_BY(posted_mu_) = false;

  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Pod>> pods_ ABSL_GUARDED_BY(mu_);
  std::list<Call*> queue_ ABSL_GUARDED_BY(mu_);
  std::list<Call*> reading_ ABSL_GUARDED_BY(mu_);   // oldest first
  std::list<Call*> upstream_ ABSL_GUARDED_BY(mu_);  // at a pod
  bool in_path_ ABSL_GUARDED_BY(mu_) = true;
  bool aborting_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  size_t next_pod_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t inflight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t via_activator_ ABSL_GUARDED_BY(mu_) = 0;
  size_t message_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t live_calls_ ABSL_GUARDED_BY(mu_) = 0;  // Call objects
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_ROUTER_H_
