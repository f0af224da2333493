#include "knbench/local_serving/router.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "knbench/local_serving/streaming_methods.h"
#include "router_call.h"
#include "router_wire.h"

namespace knbench::local_serving {

namespace {

std::string Mib(size_t bytes) {
  return absl::StrFormat("%.0f MiB", static_cast<double>(bytes) / (1 << 20));
}

grpc::Status QueueFull() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "local_serving: request queue is full");
}

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "local_serving is shutting down");
}

grpc::Status DeadlineExceeded() {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
}

}  // namespace

void Router::SetArrivalHook(std::function<void()> on_arrival) {
  on_arrival_ = std::move(on_arrival);
}

void Router::Begin(Call* call) {
  if (tracing_.exporter != nullptr) StartSpans(call);
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    call->begun = true;
    call->arrived_ = clock_->Now();
    MoveLocked(call, &reading_);
    if (call->deadline != absl::InfiniteFuture()) {
      call->deadline_pos = deadlines_.emplace(call->deadline, call);
      call->has_deadline = true;
    }
    if (aborting_) {
      SettleLocked(call, ShuttingDown(), false, &answers);
    } else if (static_cast<int64_t>(reading_.size()) + queued_ >
               options_.queue_depth) {
      // Calls waiting for their message wait as queued ones do: together
      // they stay within the queue depth, whatever clients send.
      SettleLocked(call, QueueFull(), false, &answers);
    } else if (call->metadata_bytes > kMaxMetadataBytes) {
      SettleLocked(
          call,
          grpc::Status(
              grpc::StatusCode::RESOURCE_EXHAUSTED,
              absl::StrCat("local_serving: headers of ", call->metadata_bytes,
                           " bytes; at most ", kMaxMetadataBytes)),
          false, &answers);
    } else if (IsStreamingMethod(call->method)) {
      SettleLocked(call,
                   grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                absl::StrCat("local_serving proxies unary "
                                             "calls only; ",
                                             call->method, " streams")),
                   false, &answers);
    }
  }
  Deliver(answers);
}

void Router::Reserve(Call* call, size_t length) {
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    if (call->state_ != Call::State::kReading) return;
    if (length <= options_.max_message_bytes &&
        message_bytes_ + length <= options_.message_budget_bytes) {
      // Held from now on, so that messages arriving count as held ones.
      call->held_bytes_ = length;
      message_bytes_ += length;
      return;
    }
    // Refused as a whole message would be: admitted, then answered.
    const absl::Time now = clock_->Now();
    stats_->Arrive(now);
    call->admitted_ = true;
    call->arrived_ = now;
    call->via_activator_ = in_path_;
    if (in_path_) ++via_activator_;
    SettleLocked(
        call,
        length > options_.max_message_bytes
            ? grpc::Status(
                  grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat("local_serving: a message of ", length,
                               " bytes; at most ", options_.max_message_bytes))
            : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           absl::StrCat("local_serving: request messages "
                                        "buffered are at the budget of ",
                                        Mib(options_.message_budget_bytes))),
        false, &answers);
  }
  if (hook_enabled_.load(std::memory_order_relaxed) && on_arrival_) {
    on_arrival_();
  }
  Deliver(answers);
}

void Router::OnRead(Call* call, bool ok) {
  if (ok) {
    Admit(call);
    return;
  }
  // No message: the client half-closed without one, which the worker (gRPC
  // itself) answers so.
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    if (call->state_ != Call::State::kReading) return;
    SettleLocked(
        call,
        grpc::Status(grpc::StatusCode::INTERNAL, "Unable to parse request"),
        false, &answers);
  }
  Deliver(answers);
}

void Router::Admit(Call* call) {
  const absl::Time now = clock_->Now();
  std::shared_ptr<Pod> pod;
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    // Answered while its message arrived (late, or shutdown).
    if (call->state_ != Call::State::kReading) return;
    stats_->Arrive(now);
    call->admitted_ = true;
    call->arrived_ = now;
    call->via_activator_ = in_path_;
    if (in_path_) ++via_activator_;
    if (aborting_) {
      SettleLocked(call, ShuttingDown(), false, &answers);
    } else {
      pod = PickLocked(call);
      if (pod != nullptr) {
        AssignLocked(call, pod);
      } else if (call->state_ != Call::State::kQueued) {
        SettleLocked(call, QueueFull(), false, &answers);
      }
    }
  }
  if (pod != nullptr) StartUpstream(call, pod.get());
  if (hook_enabled_.load(std::memory_order_relaxed) && on_arrival_) {
    on_arrival_();
  }
  Deliver(answers);
}

void Router::SettleLocked(Call* call, grpc::Status status, bool answered_by_pod,
                          Answers* answers) {
  if (call->state_ == Call::State::kAnswered) return;
  const absl::Time now = clock_->Now();
  if (call->state_ == Call::State::kQueued) {
    EndWaitLocked(call, now);
    --queued_;
  }
  MoveLocked(call, nullptr);
  call->state_ = Call::State::kAnswered;
  call->ignore_data = true;
  if (call->up == nullptr) call->request = std::string();  // given back
  message_bytes_ -= call->held_bytes_;
  call->held_bytes_ = 0;
  if (call->via_activator_) --via_activator_;
  if (call->admitted_) stats_->Depart(now);
  call->answer_code_ = status.error_code();
  call->answered_by_pod_ = answered_by_pod;
  if (call->spans.traced) call->spans.answered_ns = absl::GetCurrentTimeNanos();
  call->latency_ = now - call->arrived_;
  answers->emplace_back(call, std::move(status));
}

void Router::Deliver(const Answers& answers) {
  for (const auto& [call, status] : answers) Answer(call, status);
}

void Router::Release(Call* call, const grpc::Status& status) {
  Sends sends;
  Answers answers;
  std::shared_ptr<Pod> pod;
  {
    absl::MutexLock lock(&mu_);
    pod = std::move(call->pod_);
    --pod->inflight;
    --inflight_;
    if (aborting_) {
      // Nothing more goes to the pods.
    } else if (!pod->removed && !pod->queue.empty()) {
      Call* next = pod->queue.front();
      AssignLocked(next, pod);
      sends.emplace_back(next, pod);
    } else {
      DrainLocked(&sends);
    }
    // A pod call cancelled by the shutdown ended for the shutdown, one
    // cancelled at its deadline for the deadline.
    if (call->expired) {
      SettleLocked(call, DeadlineExceeded(), false, &answers);
    } else {
      SettleLocked(
          call, call->aborted_ && !status.ok() ? ShuttingDown() : status,
          /*answered_by_pod=*/!call->aborted_ || status.ok(), &answers);
    }
  }
  // A pod out of the routing set is let go once its last call is back.
  if (pod->removed && pod->inflight == 0 && pod->conn != nullptr) {
    nghttp2_session_terminate_session(pod->conn->h2, NGHTTP2_NO_ERROR);
  }
  Send(sends);
  Deliver(answers);
}

void Router::Cancel(Call* call) {
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    // It saw its own end, not our answer, even one on its way.
    call->client_ended_ = true;
    call->client_code_ = wire::ClientEndCode(call->deadline, absl::Now());
    if (call->state_ == Call::State::kAnswered) return;
    if (call->state_ == Call::State::kUpstream) {
      // The pod's answer (CANCELLED) comes back through Release.
      if (call->up != nullptr) {
        nghttp2_submit_rst_stream(call->up->h2, NGHTTP2_FLAG_NONE,
                                  call->up_stream, NGHTTP2_CANCEL);
      }
    } else {
      SettleLocked(call, grpc::Status(call->client_code_, "cancelled"), false,
                   &answers);
    }
  }
  Deliver(answers);
}

void Router::Sweep() {
  const absl::Time now = clock_->Now();
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    // Oldest first: the first one not late ends the sweep.
    while (!reading_.empty() &&
           now - reading_.front()->arrived_ >= options_.message_timeout) {
      SettleLocked(
          reading_.front(),
          grpc::Status(
              grpc::StatusCode::DEADLINE_EXCEEDED,
              absl::StrCat("local_serving: the request "
                           "message did not arrive whole "
                           "within ",
                           absl::FormatDuration(options_.message_timeout))),
          false, &answers);
    }
  }
  Deliver(answers);
}

void Router::ExpireDeadlines(absl::Time now) {
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      Call* call = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      call->has_deadline = false;
      if (call->state_ == Call::State::kUpstream) {
        // The pod's call ends now too; Release answers it.
        call->expired = true;
        if (call->up != nullptr) {
          nghttp2_submit_rst_stream(call->up->h2, NGHTTP2_FLAG_NONE,
                                    call->up_stream, NGHTTP2_CANCEL);
        }
      } else {
        SettleLocked(call, DeadlineExceeded(), false, &answers);
      }
    }
  }
  Deliver(answers);
}

void Router::Abort() {
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    aborting_ = true;
    std::vector<std::list<Call*>*> waiting = {&reading_, &queue_};
    for (const std::shared_ptr<Pod>& pod : pods_)
      waiting.push_back(&pod->queue);
    for (std::list<Call*>* list : waiting) {
      while (!list->empty()) {
        SettleLocked(list->front(), ShuttingDown(), false, &answers);
      }
    }
    for (Call* call : upstream_) {
      if (call->aborted_) continue;
      call->aborted_ = true;
      if (call->up != nullptr) {
        nghttp2_submit_rst_stream(call->up->h2, NGHTTP2_FLAG_NONE,
                                  call->up_stream, NGHTTP2_CANCEL);
      }
    }
  }
  Deliver(answers);
}

void Router::MaybeRetire(Call* call) {
  if (!call->client_closed || call->up != nullptr) return;
  if (call->begun) {
    const bool client_ended = call->client_ended_;
    const grpc::StatusCode code =
        client_ended ? call->client_code_ : call->answer_code_;
    if (call->spans.traced) ExportSpans(*call, code);
    if (observer_ != nullptr) {
      observer_->OnCallDone(code, call->via_activator_,
                            call->answered_by_pod_ && !client_ended,
                            call->latency_);
    }
  }
  if (call->has_deadline) deadlines_.erase(call->deadline_pos);
  delete call;
  absl::MutexLock lock(&mu_);
  --live_calls_;
}

Router::Snapshot Router::snapshot() const {
  absl::MutexLock lock(&mu_);
  Snapshot s;
  s.activator_in_path = in_path_;
  s.queued = queued_;
  s.inflight = inflight_;
  s.via_activator = via_activator_;
  s.reading = static_cast<int64_t>(reading_.size());
  s.message_bytes = static_cast<int64_t>(message_bytes_);
  return s;
}

}  // namespace knbench::local_serving
