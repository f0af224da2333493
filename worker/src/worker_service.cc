#include "knbench/worker/worker_service.h"

#include <grpc/support/time.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "call_trace.h"
#include "grpcpp/support/byte_buffer.h"
#include "knbench/common/buckets.h"
#include "knbench/worker/cq_tag.h"

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
Clock::time_point SteadyDeadline(const grpc::ServerContext& context) {
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

// One call, from its arrival to gRPC's last word on it. Validation and a
// 0 ms answer run on the polling thread; a spin runs on a pool thread, which
// answers when it ends. The object goes once gRPC returned both the answer's
// tag and the done notification (which says whether the call was
// cancelled); both run on the polling thread.
class WorkerService::Call {
 public:
  Call(WorkerService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), responder_(&context_) {
    context_.AsyncNotifyWhenDone(&done_);
    service_->RequestInvokeWorker(&context_, &request_, &responder_, cq, cq,
                                  &arrived_);
  }

 private:
  void Arrived(bool ok) {
    if (!ok) {  // The server is shutting down: no call came.
      delete this;
      return;
    }
    new Call(service_, cq_);  // Ready for the next one.
    start_ = Clock::now();
    trace_.Start(service_->options_.tracer,
                 service_->options_.trace_sample_rate, context_);
    pending_ = 2;  // finished_ and done_
    service_->live_.Enter();
    Handle();
  }

  void Handle() {
    // A request without a message never gets here: gRPC answers it.
    if (request_.Length() > kMaxRequestBytes) {
      service_->metrics_.oversized.Increment();
      Fail(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("request of ", request_.Length(),
                                     " bytes; a WorkRequest has at most ",
                                     kMaxRequestBytes)));
      return;
    }
    load_worker::WorkRequest request;
    if (!ParseRequest(request_, &request)) {
      service_->metrics_.malformed.Increment();
      Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the request is not a load_worker.WorkRequest"));
      return;
    }
    const int64_t duration_ms = request.duration_ms();
    const WorkerOptions& options = service_->options_;
    if (duration_ms < 0 || duration_ms > options.max_duration_ms) {
      service_->metrics_.invalid.Increment();
      Fail(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("duration_ms must be between 0 and ",
                       options.max_duration_ms, " (--max-duration-ms); got ",
                       duration_ms)));
      return;
    }
    // Shed at once, on this thread: no spin thread is started for it.
    if (service_->inflight_.fetch_add(1) >= options.max_inflight) {
      service_->inflight_.fetch_sub(1);
      service_->metrics_.rejected.Increment();
      Fail(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
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
    const auto deadline = SteadyDeadline(context_);
    service_->pool_.Run([this, duration_ms, deadline] {
      const SpinClock clock = service_->options_.spin_clock;
      trace_.SpinStarted();
      const SpinResult spin = Spin(std::chrono::milliseconds(duration_ms),
                                   clock, cancelled_, deadline);
      trace_.SpinEnded(duration_ms, clock, spin);
      Complete(duration_ms, spin);
    });
  }

  // Last use of the call's state by a spin thread: the answer's tag, and so
  // the object's end, can come any time after.
  void Complete(int64_t duration_ms, const SpinResult& spin) {
    if (spin.interrupted) {
      service_->metrics_.cancelled.Increment();
      // Stopped by our own check of the deadline, which may come a moment
      // before gRPC's (its clock is cached): the status says so, as gRPC's
      // would, rather than racing it with CANCELLED.
      if (cancelled_.load()) {
        Fail(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
      } else {
        Fail(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
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
    response_ = Serialize(response);
    service_->metrics_.success.Increment();
    const double elapsed_ms = MillisecondsSince(start_);
    service_->metrics_.latency_ms.Observe(elapsed_ms);
    service_->metrics_.latency_seconds.Observe(elapsed_ms / 1000);
    trace_.End(0);
    responder_.Finish(response_, grpc::Status::OK, &finished_);
  }

  void Fail(const grpc::Status& status) {
    trace_.End(static_cast<int>(status.error_code()));
    responder_.FinishWithError(status, &finished_);
  }

  void Finished(bool) { Release(); }

  void Done(bool) {
    if (context_.IsCancelled()) cancelled_.store(true);  // Stops the spin.
    Release();
  }

  void Release() {
    if (--pending_ > 0) return;
    if (counted_inflight_) {
      service_->inflight_.fetch_sub(1);
      service_->metrics_.inflight.Decrement();
    }
    WorkerService* service = service_;
    delete this;
    service->live_.Leave();
  }

  WorkerService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
  Clock::time_point start_;
  CallTrace trace_;
  std::atomic<bool> cancelled_{false};
  bool counted_inflight_ = false;
  int pending_ = 0;  // Polling thread only.
  MemberTag<Call, &Call::Arrived> arrived_{this};
  MemberTag<Call, &Call::Finished> finished_{this};
  MemberTag<Call, &Call::Done> done_{this};
};

WorkerService::WorkerService(WorkerOptions options,
                             prometheus::Registry& registry)
    : options_(std::move(options)),
      metrics_(registry),
      pool_(options_.spin_nice) {}

void WorkerService::StartServing(grpc::ServerCompletionQueue* cq) {
  new Call(this, cq);
}

}  // namespace knbench::worker
