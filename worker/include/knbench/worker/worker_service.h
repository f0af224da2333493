#ifndef KNBENCH_WORKER_WORKER_SERVICE_H_
#define KNBENCH_WORKER_WORKER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "grpcpp/completion_queue.h"
#include "knbench/worker/live_calls.h"
#include "knbench/worker/spin.h"
#include "knbench/worker/spin_pool.h"
#include "load_worker.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace knbench::tracing {
class SpanExporter;
}

namespace knbench::worker {

struct WorkerOptions {
  SpinClock spin_clock = SpinClock::kWall;
  int max_inflight = 1000;
  int64_t max_duration_ms = 600000;
  // Niceness of the spin threads (0: same priority as gRPC's threads).
  int spin_nice = 0;
  std::string instance_name;  // Reported in every response.
  // Where the calls' spans go (null: no tracing, and no work for it), and
  // the share of calls without a caller's trace that start one.
  tracing::SpanExporter* tracer = nullptr;
  double trace_sample_rate = 0;
};

// Largest request the service reads: a WorkRequest is a few bytes, so
// anything near this is not one. Larger requests get RESOURCE_EXHAUSTED (the
// code gRPC itself gives a message over its limit) and count as "oversized".
inline constexpr size_t kMaxRequestBytes = 64 * 1024;

// Metric handles, looked up once so the request path only increments.
struct WorkerMetrics {
  explicit WorkerMetrics(prometheus::Registry& registry);

  prometheus::Counter& success;
  prometheus::Counter& invalid;    // duration_ms out of range
  prometheus::Counter& malformed;  // bytes that are not a WorkRequest
  prometheus::Counter& oversized;  // more than kMaxRequestBytes
  prometheus::Counter& rejected;
  prometheus::Counter& cancelled;
  prometheus::Histogram& latency_ms;
  prometheus::Histogram& latency_seconds;  // same meaning, finer buckets
  prometheus::Gauge& inflight;
};

// LoadWorker on gRPC's completion-queue API, polled by one thread (see
// WorkerServer). That thread validates each call and answers a spin of 0 ms
// itself; a longer spin runs on a SpinPool thread, which answers when it
// ends. gRPC's callback API cost 28 µs per call here against 13 µs: its
// callbacks run on threads of gRPC's own that hand every event to one
// another (docs/bench.md). The method takes raw bytes and parses them
// itself: with the generated handler a request that does not parse is
// refused by gRPC and never seen, so it could be neither answered with
// INVALID_ARGUMENT nor counted.
class WorkerService final
    : public load_worker::LoadWorker::WithRawMethod_InvokeWorker<
          load_worker::LoadWorker::Service> {
 public:
  WorkerService(WorkerOptions options, prometheus::Registry& registry);

  // After the server started: takes calls from `cq`. One request is posted
  // at a time; each call that arrives posts the next.
  void StartServing(grpc::ServerCompletionQueue* cq);

  const WorkerOptions& options() const { return options_; }
  int inflight() const { return inflight_.load(); }
  const SpinPool& pool() const { return pool_; }
  // Calls that arrived and that gRPC has not finished with.
  LiveCalls& live_calls() { return live_; }

 private:
  class Call;

  const WorkerOptions options_;
  WorkerMetrics metrics_;
  std::atomic<int> inflight_{0};
  LiveCalls live_;
  // Declared last: destroyed first, so no spin outlives the members above.
  SpinPool pool_;
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_WORKER_SERVICE_H_
