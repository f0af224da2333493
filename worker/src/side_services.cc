#include "knbench/worker/side_services.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/alarm.h"
#include "grpcpp/support/byte_buffer.h"
#include "knbench/worker/cq_tag.h"
#include "knbench/worker/reflection.h"

namespace knbench::worker {
namespace {

constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";
// grpc.health.v1.HealthCheckResponse.ServingStatus.
constexpr int kServing = 1;
constexpr int kNotServing = 2;
constexpr int kServiceUnknown = 3;

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

}  // namespace

std::string HealthResponse(int status) {
  return std::string{'\x08', static_cast<char>(status)};
}

bool ParseHealthRequest(const std::string& bytes, std::string* service) {
  using ::google::protobuf::internal::WireFormatLite;
  ::google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  service->clear();
  while (uint32_t tag = in.ReadTag()) {
    if (tag ==
        WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::ReadString(&in, service)) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

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
    owner_->live_.fetch_add(1);
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
    std::string service;
    if (!ok || !ParseHealthRequest(Flatten(in_), &service)) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "expected a grpc.health.v1.HealthCheckRequest"));
      return;
    }
    // "" is the server as a whole; the services it serves may be asked too.
    known_ = service.empty() || service == kHealthService ||
             std::find(owner_->services_.begin(), owner_->services_.end(),
                       service) != owner_->services_.end();
    if (kind_ == kCheckCall && !known_) {
      Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("unknown service ", service)));
      return;
    }
    const bool serving = owner_->serving();
    out_ = Buffer(HealthResponse(!known_   ? kServiceUnknown
                                 : serving ? kServing
                                           : kNotServing));
    if (kind_ == kCheckCall) {
      stream_.WriteAndFinish(out_, grpc::WriteOptions(), grpc::Status::OK,
                             &finished_);
      return;
    }
    // Watch: the status now, then again when it changes.
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
    if (!known_ || !owner_->serving() || cancelled_) {
      Finish(grpc::Status::OK);
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
      out_ = Buffer(HealthResponse(kNotServing));
      stream_.WriteAndFinish(out_, grpc::WriteOptions(), grpc::Status::OK,
                             &finished_);
    }
    Release();
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
    owner->live_.fetch_sub(1);
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
