#ifndef KNBENCH_TRACING_EXPORTER_H_
#define KNBENCH_TRACING_EXPORTER_H_

#include <cstddef>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "knbench/tracing/otlp_json.h"
#include "knbench/tracing/span.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace knbench::tracing {

class OtlpHttpClient;

struct ExporterOptions {
  std::string otlp_endpoint;  // OTLP/HTTP JSON URL, used as given; "" none
  std::string trace_out;      // file appended one export request a line
  // Spans waiting at most; past it Export drops and counts. At 3 spans a
  // call and 5 000 calls/s, a second and a half of spans.
  size_t queue_capacity = 16384;
  size_t max_batch = 512;  // spans per export request
  // The longest a span waits for its batch to fill.
  absl::Duration batch_delay = absl::Seconds(1);
  // The longest one POST may take (connecting included): a collector that
  // accepts and never answers costs the exporting thread this much a batch.
  absl::Duration post_timeout = absl::Seconds(2);
  // On Shutdown, how long exporting what is queued may take in all.
  absl::Duration flush_timeout = absl::Seconds(5);
};

// Why spans were dropped (label `reason` of tracing_spans_dropped_total).
struct DropCounters {
  prometheus::Counter* queue_full;   // Export found the queue full
  prometheus::Counter* otlp_failed;  // the POST failed or timed out
  prometheus::Counter* file_failed;  // --trace-out could not be written
  prometheus::Counter* shutdown;     // still queued when the flush ran out
};

// Spans from any thread to an OTLP/HTTP collector and/or a file, off the
// caller's path: Export only moves the span into a bounded queue (or drops
// and counts it when full), and one background thread batches, encodes and
// sends. So a slow or dead collector costs requests nothing; it loses
// spans, and tracing_spans_dropped_total says how many.
class SpanExporter {
 public:
  // Opens --trace-out (appending) and starts the thread; an error names the
  // file that cannot be opened. Counters go to `registry`.
  static absl::StatusOr<std::unique_ptr<SpanExporter>> Start(
      ExporterOptions options, Resource resource,
      prometheus::Registry& registry);
  ~SpanExporter();  // Shutdown()

  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Never waits for I/O: queues `span`, or drops and counts it.
  void Export(Span span);
  // Exports what is queued, for at most flush_timeout, then stops the
  // thread. Idempotent; Export after it drops.
  void Shutdown();

 private:
  SpanExporter(ExporterOptions options, Resource resource,
               prometheus::Registry& registry);
  void Run();
  // Waits for a batch (full, old enough, or stopping); empty when done.
  std::vector<Span> NextBatch();
  void Send(const std::vector<Span>& batch, absl::Time flush_deadline);

  const ExporterOptions options_;
  const Resource resource_;
  std::unique_ptr<OtlpHttpClient> http_;
  std::ofstream file_;
  bool file_failed_logged_ = false;
  bool otlp_failed_logged_ = false;
  prometheus::Counter* exported_otlp_;
  prometheus::Counter* exported_file_;
  DropCounters dropped_;

  absl::Mutex mu_;
  std::deque<Span> queue_ ABSL_GUARDED_BY(mu_);
  absl::Time oldest_ ABSL_GUARDED_BY(mu_);  // when the queue's first came
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time flush_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_EXPORTER_H_
