#ifndef KNBENCH_LOAD_DRIVER_METRICS_H_
#define KNBENCH_LOAD_DRIVER_METRICS_H_

#include "absl/time/time.h"
#include "knbench/load_driver/pacer.h"
#include "knbench/load_driver/row.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace knbench::load_driver {

// The driver's Prometheus metrics. Handles are looked up once here; the hot
// path only increments and observes.
class DriverMetrics : public PacerObserver {
 public:
  explicit DriverMetrics(prometheus::Registry& registry);

  // Pacing thread: one call per scheduled request.
  void OnScheduled(const Arrival& a, absl::Duration lag, bool dropped) override;
  // Completion of a sent request (any thread).
  void OnCompleted(bool success, int64_t latency_us,
                   int64_t intended_latency_us);
  void SetInflight(double n) { inflight_.Set(n); }

 private:
  prometheus::Counter& success_;
  prometheus::Counter& failure_;
  prometheus::Counter& dropped_;
  prometheus::Counter& scheduled_;
  prometheus::Gauge& inflight_;
  prometheus::Gauge& target_rps_;
  prometheus::Histogram& latency_;
  prometheus::Histogram& intended_latency_;
  prometheus::Histogram& latency_seconds_;  // same meanings, finer buckets
  prometheus::Histogram& intended_latency_seconds_;
  prometheus::Histogram& lag_;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_METRICS_H_
