#include "knbench/worker/worker_service.h"

#include <grpc/support/time.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/byte_buffer.h"
#include "knbench/common/buckets.h"

namespace knbench::worker {
namespace {

using Clock = std::chrono::steady_clock;

prometheus::Family<prometheus::Counter>& RequestsFamily(
    prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("worker_requests_total")
      .Help("Requests the worker answered, by outcome.")
      .Register(registry);
}

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// The client's deadline on the steady clock (max when it set none).
// Computed from gRPC's own timespec: context.deadline() converts to the
// system clock in nanoseconds, which overflows for deadlines more than about
// 290 years away (grpc-timeout: 2562048H) and turns them into the past.
Clock::time_point SteadyDeadline(const grpc::CallbackServerContext& context) {
  const gpr_timespec deadline = context.raw_deadline();
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0) {
    return Clock::time_point::max();
  }
  const gpr_timespec left =
      gpr_time_sub(deadline, gpr_now(deadline.clock_type));
  if (left.tv_sec < 0) return Clock::now();
  // Saturate: anything beyond a century is as good as no deadline, and
  // stays far from the steady clock's range.
  constexpr int64_t kCenturySeconds = int64_t{100} * 366 * 24 * 3600;
  if (left.tv_sec >= kCenturySeconds) return Clock::time_point::max();
  return Clock::now() + std::chrono::seconds(left.tv_sec) +
         std::chrono::nanoseconds(left.tv_nsec);
}

// The request's bytes as a WorkRequest; false if they are not one.
bool ParseRequest(const grpc::ByteBuffer& bytes,
                  load_worker::WorkRequest* request) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return false;
  std::string flat;
  for (const grpc::Slice& slice : slices) {
    flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return request->ParseFromString(flat);
}

grpc::ByteBuffer Serialize(const load_worker::WorkResponse& response) {
  grpc::Slice slice(response.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry)
    : success(RequestsFamily(registry).Add({{"status", "success"}})),
      invalid(RequestsFamily(registry).Add({{"status", "invalid"}})),
      malformed(RequestsFamily(registry).Add({{"status", "malformed"}})),
      oversized(RequestsFamily(registry).Add({{"status", "oversized"}})),
      rejected(RequestsFamily(registry).Add({{"status", "rejected"}})),
      cancelled(RequestsFamily(registry).Add({{"status", "cancelled"}})),
      latency_ms(prometheus::BuildHistogram()
                     .Name("worker_request_latency_ms")
                     .Help("Time from receiving a successful request to "
                           "answering it, in milliseconds.")
                     .Register(registry)
                     .Add({}, LatencyBucketsMs())),
      latency_seconds(
          prometheus::BuildHistogram()
              .Name("worker_request_latency_seconds")
              .Help("Time from receiving a successful request to answering it, "
                    "in seconds; buckets for quantiles within 9.05 %.")
              .Register(registry)
              .Add({}, LatencyBucketsSeconds())),
      inflight(prometheus::BuildGauge()
                   .Name("worker_inflight_requests")
                   .Help("Requests being served now.")
                   .Register(registry)
                   .Add({})) {}

// One call: validates, spins on a pool thread, answers. Deletes itself once
// gRPC says the call is done; OnCancel may run concurrently with the spin.
class WorkerService::SpinReactor final : public grpc::ServerUnaryReactor {
 public:
  SpinReactor(WorkerService* service, grpc::CallbackServerContext* context,
              const grpc::ByteBuffer* bytes, grpc::ByteBuffer* response)
      : service_(service), response_(response), start_(Clock::now()) {
    // A call without a message at all arrives as an invalid buffer; an empty
    // message (duration_ms 0) as a valid one of length 0.
    if (bytes->Valid() && bytes->Length() > kMaxRequestBytes) {
      service_->metrics_.oversized.Increment();
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("request of ", bytes->Length(),
                                       " bytes; a WorkRequest has at most ",
                                       kMaxRequestBytes)));
      return;
    }
    load_worker::WorkRequest request;
    if (!bytes->Valid() || !ParseRequest(*bytes, &request)) {
      service_->metrics_.malformed.Increment();
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the request is not a load_worker.WorkRequest"));
      return;
    }
    const int64_t duration_ms = request.duration_ms();
    const WorkerOptions& options = service_->options_;
    if (duration_ms < 0 || duration_ms > options.max_duration_ms) {
      service_->metrics_.invalid.Increment();
      Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("duration_ms must be between 0 and ",
                       options.max_duration_ms, " (--max-duration-ms); got ",
                       duration_ms)));
      return;
    }
    if (service_->inflight_.fetch_add(1) >= options.max_inflight) {
      service_->inflight_.fetch_sub(1);
      service_->metrics_.rejected.Increment();
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("worker is at --max-inflight=",
                                       options.max_inflight, " requests")));
      return;
    }
    counted_inflight_ = true;
    service_->metrics_.inflight.Increment();
    if (duration_ms == 0) {
      // Nothing to spin: answer here rather than pay a thread hand-off.
      Complete(duration_ms, SpinResult{});
      return;
    }
    const auto deadline = SteadyDeadline(*context);
    service_->pool_.Run([this, duration_ms, deadline] {
      Complete(duration_ms,
               Spin(std::chrono::milliseconds(duration_ms),
                    service_->options_.spin_clock, cancelled_, deadline));
    });
  }

  void OnCancel() override { cancelled_.store(true); }

  void OnDone() override {
    if (counted_inflight_) {
      service_->inflight_.fetch_sub(1);
      service_->metrics_.inflight.Decrement();
    }
    delete this;
  }

 private:
  // Last use of this reactor's state: after Finish, OnDone may delete it.
  void Complete(int64_t duration_ms, const SpinResult& spin) {
    if (spin.interrupted) {
      service_->metrics_.cancelled.Increment();
      // Stopped by our own check of the deadline, which may come a moment
      // before gRPC's (its clock is cached): the status says so, as gRPC's
      // would, rather than racing it with CANCELLED.
      if (cancelled_.load()) {
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
      } else {
        Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            "the call's deadline passed"));
      }
      return;
    }
    load_worker::WorkResponse response;
    response.set_message(absl::StrCat("processed in ", duration_ms,
                                      " ms by Worker \xE2\x9C\x85"));
    response.set_pod(service_->options_.instance_name);
    response.set_spin_us(
        std::chrono::duration_cast<std::chrono::microseconds>(spin.spun)
            .count());
    *response_ = Serialize(response);
    service_->metrics_.success.Increment();
    const double elapsed_ms = MillisecondsSince(start_);
    service_->metrics_.latency_ms.Observe(elapsed_ms);
    service_->metrics_.latency_seconds.Observe(elapsed_ms / 1000);
    Finish(grpc::Status::OK);
  }

  WorkerService* const service_;
  grpc::ByteBuffer* const response_;
  const Clock::time_point start_;
  std::atomic<bool> cancelled_{false};
  bool counted_inflight_ = false;
};

WorkerService::WorkerService(WorkerOptions options,
                             prometheus::Registry& registry)
    : options_(std::move(options)),
      metrics_(registry),
      pool_(options_.spin_nice) {}

grpc::ServerUnaryReactor* WorkerService::InvokeWorker(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return new SpinReactor(this, context, request, response);
}

}  // namespace knbench::worker
