#include "knbench/worker/side_services.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/support/byte_buffer.h"
#include "knbench/worker/cq_tag.h"
#include "knbench/worker/reflection.h"

namespace knbench::worker {
namespace {

namespace health = ::grpc::health::v1;

constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (!buffer.Dump(&slices).ok()) return flat;
  for (const grpc::Slice& s : slices) {
    flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return flat;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer HealthBuffer(health::HealthCheckResponse::ServingStatus s) {
  health::HealthCheckResponse response;
  response.set_status(s);
  return Buffer(response.SerializeAsString());
}

}  // namespace

// One call to a method of the generic service. Every path ends in exactly
// one Finish; the object goes once that, the done notification and any
// alarm have come back. All its events run on the polling thread.
class SideServices::Call {
 public:
  Call(SideServices* owner, grpc::ServerCompletionQueue* cq)
      : owner_(owner), cq_(cq), stream_(&context_) {
    context_.AsyncNotifyWhenDone(&done_);
    owner_->generic_.RequestCall(&context_, &stream_, cq, cq, &arrived_);
  }

  // From any thread, under the owner's lock: health changed.
  void Wake() { alarm_.Cancel(); }

 private:
  enum Kind { kUnknown, kCheckCall, kWatchCall, kReflectionCall };

  void Arrived(bool ok) {
    if (!ok) {  // The server is shutting down: no call came.
      delete this;
      return;
    }
    new Call(owner_, cq_);  // Ready for the next one.
    pending_ = 2;           // finished_ and done_
    owner_->live_.Enter();
    const std::string& method = context_.method();
    kind_ = method == kCheck              ? kCheckCall
            : method == kWatch            ? kWatchCall
            : method == kReflectionMethod ? kReflectionCall
                                          : kUnknown;
    if (kind_ == kUnknown) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          absl::StrCat("no method ", method)));
      return;
    }
    stream_.Read(&in_, &read_);
  }

  void ReadDone(bool ok) {
    if (kind_ == kReflectionCall) {
      if (!ok) {  // The client is done asking.
        Finish(grpc::Status::OK);
        return;
      }
      out_ = Buffer(ReflectionReply(Flatten(in_), owner_->services_));
      stream_.Write(out_, &written_);
      return;
    }
    health::HealthCheckRequest request;
    if (!ok || !request.ParseFromString(Flatten(in_))) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "expected a grpc.health.v1.HealthCheckRequest"));
      return;
    }
    // "" is the server as a whole; the services it serves may be asked too.
    const std::string& service = request.service();
    known_ = service.empty() || service == kHealthService ||
             std::find(owner_->services_.begin(), owner_->services_.end(),
                       service) != owner_->services_.end();
    if (kind_ == kCheckCall && !known_) {
      Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("unknown service ", service)));
      return;
    }
    const bool serving = owner_->serving();
    out_ = HealthBuffer(!known_   ? health::HealthCheckResponse::SERVICE_UNKNOWN
                        : serving ? health::HealthCheckResponse::SERVING
                                  : health::HealthCheckResponse::NOT_SERVING);
    if (kind_ == kCheckCall) {
      stream_.WriteAndFinish(out_, grpc::WriteOptions(), grpc::Status::OK,
                             &finished_);
      return;
    }
    // Watch: the status now, then again when it changes.
    sent_serving_ = known_ && serving;
    stream_.Write(out_, &written_);
  }

  void WriteDone(bool ok) {
    if (!ok) {  // The client went away.
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
      return;
    }
    if (kind_ == kReflectionCall) {
      stream_.Read(&in_, &read_);
      return;
    }
    // A Watch that sent its first status waits for the one change there is
    // (to NOT_SERVING), or for the client to leave.
    std::lock_guard<std::mutex> lock(owner_->mu_);
    if (!sent_serving_ || cancelled_) {
      Finish(grpc::Status::OK);
      return;
    }
    if (!owner_->serving()) {  // it changed while SERVING was on its way
      FinishNotServing();
      return;
    }
    owner_->watchers_.insert(this);
    ++pending_;
    alarm_.Set(cq_, gpr_inf_future(GPR_CLOCK_MONOTONIC), &woken_);
  }

  // The alarm never expires: it comes back when Wake or Done cancel it.
  void Woken(bool) {
    {
      std::lock_guard<std::mutex> lock(owner_->mu_);
      owner_->watchers_.erase(this);
    }
    if (cancelled_) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
    } else {
      FinishNotServing();
    }
    Release();
  }

  void FinishNotServing() {
    out_ = HealthBuffer(health::HealthCheckResponse::NOT_SERVING);
    stream_.WriteAndFinish(out_, grpc::WriteOptions(), grpc::Status::OK,
                           &finished_);
  }

  void Done(bool) {
    if (context_.IsCancelled()) {
      cancelled_ = true;
      alarm_.Cancel();  // A waiting Watch ends now.
    }
    Release();
  }

  void Finish(const grpc::Status& status) {
    stream_.Finish(status, &finished_);
  }
  void Finished(bool) { Release(); }

  void Release() {
    if (--pending_ > 0) return;
    SideServices* owner = owner_;
    delete this;
    owner->live_.Leave();
  }

  SideServices* const owner_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
  grpc::Alarm alarm_;
  Kind kind_ = kUnknown;
  bool known_ = false;
  bool sent_serving_ = false;  // a Watch's first status was SERVING
  bool cancelled_ = false;
  int pending_ = 0;
  MemberTag<Call, &Call::Arrived> arrived_{this};
  MemberTag<Call, &Call::ReadDone> read_{this};
  MemberTag<Call, &Call::WriteDone> written_{this};
  MemberTag<Call, &Call::Woken> woken_{this};
  MemberTag<Call, &Call::Finished> finished_{this};
  MemberTag<Call, &Call::Done> done_{this};
};

SideServices::SideServices(std::vector<std::string> services)
    : services_([&] {
        services.push_back(kHealthService);
        services.push_back(kReflectionService);
        return std::move(services);
      }()) {}

SideServices::~SideServices() = default;

void SideServices::Register(grpc::ServerBuilder* builder) {
  builder->RegisterAsyncGenericService(&generic_);
}

void SideServices::StartServing(grpc::ServerCompletionQueue* cq) {
  new Call(this, cq);
}

void SideServices::SetNotServing() {
  serving_.store(false);
  std::lock_guard<std::mutex> lock(mu_);
  for (Call* watcher : watchers_) watcher->Wake();
}

}  // namespace knbench::worker
