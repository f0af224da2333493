#include "router_call.h"

#include <grpc/support/time.h>

#include "absl/strings/match.h"
#include "knbench/local_serving/wait_trailers.h"

namespace knbench::local_serving {

Router::Call::Call(Router* router)
    : router_(router),
      accept_tag_{this, Op::kAccept},
      read_tag_{this, Op::kRead},
      upstream_tag_{this, Op::kUpstream},
      finish_tag_{this, Op::kFinish},
      done_tag_{this, Op::kDone} {
  context_.AsyncNotifyWhenDone(&done_tag_);
  router_->service_.RequestCall(&context_, &stream_, router_->cq_.get(),
                                router_->cq_.get(), &accept_tag_);
}

void Router::Call::OnEvent(Op op, bool ok) {
  switch (op) {
    case Op::kAccept:
      // Not started (the server is stopping): no other event will come.
      if (!ok) {
        router_->Retire(this);
        return;
      }
      router_->Accept();  // the next call
      begun_ = true;
      refs_.store(1);  // the done notification's
      router_->Begin(this);
      return;
    case Op::kRead:
      router_->OnRead(this, ok);
      Unref();
      return;
    case Op::kUpstream:
      router_->Release(this, upstream_status_);
      Unref();
      return;
    case Op::kDone:
      // A client that ended the call saw its own end, not our answer.
      if (context_.IsCancelled()) {
        client_code_ = CancelCode();
        client_ended_ = true;
        router_->Cancel(this);
      }
      Unref();
      return;
    case Op::kFinish:
      Unref();
      return;
    default:
      return;
  }
}

void Router::Call::StartRead() {
  Ref();
  stream_.Read(&request_, &read_tag_);
}

void Router::Call::StartUpstream(Pod* pod, grpc::CompletionQueue* cq) {
  upstream_.set_deadline(context_.raw_deadline());
  for (const auto& [key, value] : context_.client_metadata()) {
    const absl::string_view k(key.data(), key.size());
    // Transport headers are gRPC's own; the rest is the caller's.
    if (absl::StartsWith(k, ":") || absl::StartsWith(k, "grpc-") || k == "te" ||
        k == "content-type" || k == "user-agent") {
      continue;
    }
    upstream_.AddMetadata(std::string(k),
                          std::string(value.data(), value.size()));
  }
  reader_ =
      pod->stub->PrepareUnaryCall(&upstream_, context_.method(), request_, cq);
  reader_->StartCall();
  reader_->Finish(&response_, &upstream_status_, &upstream_tag_);
}

void Router::Call::Finish(const grpc::Status& status) {
  if (answered_by_pod_) {
    for (const auto& [key, value] : upstream_.GetServerTrailingMetadata()) {
      const absl::string_view k(key.data(), key.size());
      // gRPC writes its own; the waits are this hop's.
      if (absl::StartsWith(k, "grpc-") || k == kActivatorWaitKey ||
          k == kQueueWaitKey) {
        continue;
      }
      context_.AddTrailingMetadata(std::string(k),
                                   std::string(value.data(), value.size()));
    }
  }
  context_.AddTrailingMetadata(kActivatorWaitKey,
                               WaitTrailerValue(activator_wait_));
  context_.AddTrailingMetadata(kQueueWaitKey, WaitTrailerValue(queue_wait_));
  if (status.ok()) {
    stream_.WriteAndFinish(response_, grpc::WriteOptions(), status,
                           &finish_tag_);
  } else {
    stream_.Finish(status, &finish_tag_);
  }
}

grpc::StatusCode Router::Call::CancelCode() const {
  // gRPC's own deadline, not context_.deadline(): that one overflows for
  // deadlines centuries away and turns them into the past.
  const gpr_timespec deadline = context_.raw_deadline();
  const gpr_timespec soon = gpr_time_add(
      gpr_now(deadline.clock_type), gpr_time_from_millis(250, GPR_TIMESPAN));
  return gpr_time_cmp(deadline, soon) <= 0 ? grpc::StatusCode::DEADLINE_EXCEEDED
                                           : grpc::StatusCode::CANCELLED;
}

void Router::Call::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) router_->Retire(this);
}

}  // namespace knbench::local_serving
