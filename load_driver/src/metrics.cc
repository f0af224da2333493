#include "knbench/load_driver/metrics.h"

#include "knbench/common/buckets.h"

namespace knbench::load_driver {
namespace {

prometheus::Family<prometheus::Counter>& Requests(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("load_driver_requests_total")
      .Help("Scheduled requests by outcome: success, failure, dropped.")
      .Register(r);
}

prometheus::Histogram& Hist(prometheus::Registry& r, const char* name,
                            const char* help,
                            const prometheus::Histogram::BucketBoundaries& b) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({},
                                                                            b);
}

prometheus::Histogram::BucketBoundaries LagBuckets() {
  // Lag is usually far below a millisecond; finer buckets first.
  prometheus::Histogram::BucketBoundaries b = {0.01, 0.05, 0.1, 0.25, 0.5};
  for (double v : LatencyBucketsMs()) b.push_back(v);
  return b;
}

}  // namespace

DriverMetrics::DriverMetrics(prometheus::Registry& r)
    : success_(Requests(r).Add({{"status", "success"}})),
      failure_(Requests(r).Add({{"status", "failure"}})),
      dropped_(Requests(r).Add({{"status", "dropped"}})),
      scheduled_(prometheus::BuildCounter()
                     .Name("load_driver_scheduled_total")
                     .Help("Requests whose intended send time has come.")
                     .Register(r)
                     .Add({})),
      inflight_(prometheus::BuildGauge()
                    .Name("load_driver_inflight_requests")
                    .Help("Requests sent and not yet answered.")
                    .Register(r)
                    .Add({})),
      target_rps_(prometheus::BuildGauge()
                      .Name("load_driver_target_rps")
                      .Help("Target request rate of the schedule right now.")
                      .Register(r)
                      .Add({})),
      latency_(Hist(r, "load_driver_request_latency_ms",
                    "Latency from the actual send, in ms.",
                    LatencyBucketsMs())),
      intended_latency_(Hist(r, "load_driver_intended_latency_ms",
                             "Latency from the intended send time (corrects "
                             "coordinated omission), in ms.",
                             LatencyBucketsMs())),
      latency_seconds_(Hist(r, "load_driver_request_latency_seconds",
                            "Latency from the actual send, in seconds; "
                            "buckets for quantiles within 9.05 %.",
                            LatencyBucketsSeconds())),
      intended_latency_seconds_(
          Hist(r, "load_driver_intended_latency_seconds",
               "Latency from the intended send time, in seconds; buckets for "
               "quantiles within 9.05 %.",
               LatencyBucketsSeconds())),
      lag_(Hist(r, "load_driver_schedule_lag_ms",
                "Actual minus intended send time, in ms.", LagBuckets())) {}

void DriverMetrics::OnScheduled(const Arrival& a, absl::Duration lag,
                                bool dropped) {
  scheduled_.Increment();
  target_rps_.Set(a.rps);
  if (dropped) {
    dropped_.Increment();
  } else {
    lag_.Observe(absl::ToDoubleMilliseconds(lag));
  }
}

void DriverMetrics::OnCompleted(bool success, int64_t latency_us,
                                int64_t intended_latency_us) {
  (success ? success_ : failure_).Increment();
  latency_.Observe(static_cast<double>(latency_us) / 1000);
  intended_latency_.Observe(static_cast<double>(intended_latency_us) / 1000);
  latency_seconds_.Observe(static_cast<double>(latency_us) / 1e6);
  intended_latency_seconds_.Observe(static_cast<double>(intended_latency_us) /
                                    1e6);
}

}  // namespace knbench::load_driver
