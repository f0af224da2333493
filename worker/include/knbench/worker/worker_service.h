#ifndef KNBENCH_WORKER_WORKER_SERVICE_H_
#define KNBENCH_WORKER_WORKER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "knbench/worker/spin.h"
#include "knbench/worker/spin_pool.h"
#include "load_worker.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace knbench::worker {

struct WorkerOptions {
  SpinClock spin_clock = SpinClock::kWall;
  int max_inflight = 1000;
  int64_t max_duration_ms = 600000;
  // Niceness of the spin threads (0: same priority as gRPC's threads).
  int spin_nice = 0;
  std::string instance_name;  // Reported in every response.
};

// Metric handles, looked up once so the request path only increments.
struct WorkerMetrics {
  explicit WorkerMetrics(prometheus::Registry& registry);

  prometheus::Counter& success;
  prometheus::Counter& invalid;
  prometheus::Counter& rejected;
  prometheus::Counter& cancelled;
  prometheus::Histogram& latency_ms;
  prometheus::Histogram& latency_seconds;  // same meaning, finer buckets
  prometheus::Gauge& inflight;
};

// LoadWorker on gRPC's callback API. Each call gets a reactor that owns its
// state; its spin runs on a SpinPool thread, never on gRPC's threads.
class WorkerService final : public load_worker::LoadWorker::CallbackService {
 public:
  WorkerService(WorkerOptions options, prometheus::Registry& registry);

  grpc::ServerUnaryReactor* InvokeWorker(
      grpc::CallbackServerContext* context,
      const load_worker::WorkRequest* request,
      load_worker::WorkResponse* response) override;

  int inflight() const { return inflight_.load(); }
  const SpinPool& pool() const { return pool_; }

 private:
  class SpinReactor;

  const WorkerOptions options_;
  WorkerMetrics metrics_;
  std::atomic<int> inflight_{0};
  // Declared last: destroyed first, so no spin outlives the members above.
  SpinPool pool_;
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_WORKER_SERVICE_H_
