#include "knbench/tracing/exporter.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/log.h"
#include "otlp_http.h"

namespace knbench::tracing {
namespace {

prometheus::Family<prometheus::Counter>& ExportedFamily(
    prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("tracing_spans_exported_total")
      .Help(
          "Spans written, by sink: otlp (accepted by the collector) or "
          "file (--trace-out).")
      .Register(registry);
}

prometheus::Family<prometheus::Counter>& DroppedFamily(
    prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("tracing_spans_dropped_total")
      .Help(
          "Spans lost, by reason: queue_full (the exporter fell behind), "
          "otlp_failed (the collector failed or timed out), file_failed, "
          "shutdown (queued when the final flush ran out of time, or ended "
          "after it).")
      .Register(registry);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SpanExporter>> SpanExporter::Start(
    ExporterOptions options, Resource resource,
    prometheus::Registry& registry) {
  std::unique_ptr<SpanExporter> exporter(
      new SpanExporter(std::move(options), std::move(resource), registry));
  if (!exporter->options_.otlp_endpoint.empty()) {
    auto http = OtlpHttpClient::Create(exporter->options_.otlp_endpoint);
    if (!http.ok()) return http.status();
    exporter->http_ = *std::move(http);
  }
  const std::string& path = exporter->options_.trace_out;
  if (!path.empty()) {
    exporter->file_.open(path, std::ios::out | std::ios::app);
    if (!exporter->file_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--trace-out ", path, ": cannot open: ", std::strerror(errno)));
    }
  }
  exporter->thread_ = std::thread([e = exporter.get()] { e->Run(); });
  return exporter;
}

SpanExporter::SpanExporter(ExporterOptions options, Resource resource,
                           prometheus::Registry& registry)
    : options_(std::move(options)),
      resource_(std::move(resource)),
      exported_otlp_(&ExportedFamily(registry).Add({{"sink", "otlp"}})),
      exported_file_(&ExportedFamily(registry).Add({{"sink", "file"}})),
      dropped_{&DroppedFamily(registry).Add({{"reason", "queue_full"}}),
               &DroppedFamily(registry).Add({{"reason", "otlp_failed"}}),
               &DroppedFamily(registry).Add({{"reason", "file_failed"}}),
               &DroppedFamily(registry).Add({{"reason", "shutdown"}})} {}

SpanExporter::~SpanExporter() { Shutdown(); }

void SpanExporter::Export(Span span) {
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    dropped_.shutdown->Increment();
    return;
  }
  if (queue_.size() >= options_.queue_capacity) {
    dropped_.queue_full->Increment();
    return;
  }
  if (queue_.empty()) oldest_ = absl::Now();
  queue_.push_back(std::move(span));
}

void SpanExporter::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    flush_deadline_ = absl::Now() + options_.flush_timeout;
  }
  if (thread_.joinable()) thread_.join();
}

std::vector<Span> SpanExporter::NextBatch() {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || queue_.size() >= options_.max_batch;
  };
  auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  };
  // Sends when a batch is full, when stopping, or once the oldest span has
  // waited batch_delay.
  while (!ready()) {
    if (queue_.empty()) {
      mu_.Await(absl::Condition(&any));
      continue;
    }
    const absl::Time due = oldest_ + options_.batch_delay;
    if (absl::Now() >= due) break;
    mu_.AwaitWithDeadline(absl::Condition(&ready), due);
  }
  const size_t n = std::min(queue_.size(), options_.max_batch);
  std::vector<Span> batch(std::make_move_iterator(queue_.begin()),
                          std::make_move_iterator(queue_.begin() + n));
  queue_.erase(queue_.begin(), queue_.begin() + n);
  if (!queue_.empty()) oldest_ = absl::Now();
  return batch;
}

void SpanExporter::Run() {
  for (;;) {
    std::vector<Span> batch = NextBatch();
    absl::Time deadline;
    {
      absl::MutexLock lock(&mu_);
      deadline = flush_deadline_;
      if (batch.empty() && stopping_) return;
      if (absl::Now() >= deadline) {
        // Out of flush time: what is left is lost, and counted.
        dropped_.shutdown->Increment(
            static_cast<double>(batch.size() + queue_.size()));
        queue_.clear();
        return;
      }
    }
    Send(batch, deadline);
  }
}

void SpanExporter::Send(const std::vector<Span>& batch,
                        absl::Time flush_deadline) {
  if (batch.empty()) return;
  // Bad UTF-8 in a name becomes U+FFFD rather than an exception.
  const std::string json =
      EncodeExportRequest(resource_, batch)
          .dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
  const double n = static_cast<double>(batch.size());
  if (file_.is_open()) {
    file_ << json << '\n' << std::flush;
    if (file_) {
      exported_file_->Increment(n);
    } else {
      dropped_.file_failed->Increment(n);
      if (!file_failed_logged_) {
        file_failed_logged_ = true;
        Logf("error: --trace-out %s: write failed; spans are dropped",
             options_.trace_out);
      }
      file_.clear();
    }
  }
  if (http_ == nullptr) return;
  const absl::Duration timeout =
      std::min(options_.post_timeout, flush_deadline - absl::Now());
  if (absl::Status st = http_->Post(json, timeout); st.ok()) {
    exported_otlp_->Increment(n);
  } else {
    dropped_.otlp_failed->Increment(n);
    // Once: a collector that is down would otherwise log every batch.
    if (!otlp_failed_logged_) {
      otlp_failed_logged_ = true;
      Logf("warning: %s; spans are dropped (tracing_spans_dropped_total)",
           st.message());
    }
  }
}

}  // namespace knbench::tracing
