#include "knbench/local_serving/router.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/resource_quota.h"
#include "knbench/local_serving/streaming_methods.h"
#include "router_call.h"

namespace knbench::local_serving {

namespace {

// How often calls whose message is late are looked for.
constexpr absl::Duration kSweepInterval = absl::Seconds(1);

Clock* DefaultClock() {
  static SteadyClock* clock = new SteadyClock;  // never destroyed
  return clock;
}

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

}  // namespace

Router::Router(RouterOptions options, SecondStats* stats,
               RouterObserver* observer, Clock* clock)
    : options_(options),
      stats_(stats),
      observer_(observer),
      clock_(clock != nullptr ? clock : DefaultClock()) {}

Router::~Router() { Stop(); }

void Router::Register(grpc::ServerBuilder* builder) {
  builder->RegisterAsyncGenericService(&service_);
  // Streams that never finish their message are held by the transport:
  // bound them per connection, and bound the memory gRPC buffers for all.
  builder->AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      static_cast<int>(std::min<int64_t>(
          options_.queue_depth + kStreamsAboveQueueDepth, INT32_MAX)));
  grpc::ResourceQuota quota("local_serving_router");
  quota.Resize(kGrpcMemoryQuotaBytes);
  builder->SetResourceQuota(quota);
  // gRPC 1.51 reads a message whole before it checks the size; Admit checks
  // it instead, so that the refusal is counted like any other answer.
  builder->SetMaxReceiveMessageSize(-1);
  cq_ = builder->AddCompletionQueue();
}

void Router::Start(int threads) {
  // A few calls waiting to be matched, so a burst does not wait for them.
  for (int i = 0; i < 16; ++i) Accept();
  {
    absl::MutexLock lock(&mu_);
    ArmSweepLocked();
  }
  for (int i = 0; i < threads; ++i) pollers_.emplace_back([this] { Poll(); });
}

void Router::Accept() {
  {
    absl::MutexLock lock(&mu_);
    ++live_calls_;
  }
  new Call(this);
}

void Router::Poll() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) {
    auto* t = static_cast<Tag*>(tag);
    if (t->call == nullptr) {
      OnAlarm(t->op, ok);
    } else {
      t->call->OnEvent(t->op, ok);
    }
  }
}

void Router::ArmSweepLocked() {
  if (stopping_) return;
  sweep_alarm_.Set(cq_.get(), absl::ToChronoTime(absl::Now() + kSweepInterval),
                   &sweep_tag_);
}

void Router::OnAlarm(Op op, bool ok) {
  if (!ok) return;  // cancelled
  if (op == Op::kAbort) {
    Abort();
    return;
  }
  Sweep();
  absl::MutexLock lock(&mu_);
  ArmSweepLocked();
}

void Router::AbortAt(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  // An alarm is set once (gRPC's alarms must not be set again while set).
  if (stopping_ || abort_armed_ || cq_ == nullptr) return;
  abort_armed_ = true;
  abort_alarm_.Set(cq_.get(), absl::ToChronoTime(deadline), &abort_tag_);
}

void Router::Stop() {
  if (cq_ == nullptr) return;
  if (!pollers_.empty()) {
    Abort();
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    sweep_alarm_.Cancel();
    abort_alarm_.Cancel();
    // An operation started on a closed queue aborts the process: every
    // call must be done with first.
    mu_.Await(absl::Condition(
        +[](int64_t* live) { return *live == 0; }, &live_calls_));
  }
  cq_->Shutdown();
  if (pollers_.empty()) Poll();  // never started: drain it here
  for (std::thread& t : pollers_) t.join();
  pollers_.clear();
  cq_.reset();
}

void Router::SetArrivalHook(std::function<void()> on_arrival) {
  on_arrival_ = std::move(on_arrival);
}

void Router::Begin(Call* call) {
  const std::string& method = call->context().method();
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    call->arrived_ = clock_->Now();
    MoveLocked(call, &reading_);
    if (aborting_) {
      SettleLocked(call, ShuttingDown(), false, &answers);
    } else if (static_cast<int64_t>(reading_.size()) + queued_ >
               options_.queue_depth) {
      // Calls waiting for their message wait as queued ones do: together
      // they stay within the queue depth, whatever clients send.
      SettleLocked(call, QueueFull(), false, &answers);
    } else if (IsStreamingMethod(method)) {
      SettleLocked(call,
                   grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                absl::StrCat("local_serving proxies unary "
                                             "calls only; ",
                                             method, " streams")),
                   false, &answers);
    }
  }
  if (answers.empty()) {
    call->StartRead();
  } else {
    Deliver(answers);
  }
}

void Router::OnRead(Call* call, bool ok) {
  if (ok) {
    Admit(call);
    return;
  }
  // No message: the client half-closed without one, which the worker (gRPC
  // itself) answers so; or the call ended, and then the client saw its own
  // end, which is what is counted.
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    SettleLocked(
        call,
        grpc::Status(grpc::StatusCode::INTERNAL, "Unable to parse request"),
        false, &answers);
  }
  Deliver(answers);
}

void Router::Admit(Call* call) {
  const absl::Time now = clock_->Now();
  const size_t bytes = call->request_bytes();
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
    if (bytes > options_.max_message_bytes) {
      SettleLocked(call,
                   grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                absl::StrCat("local_serving: a message of ",
                                             bytes, " bytes; at most ",
                                             options_.max_message_bytes)),
                   false, &answers);
    } else if (aborting_) {
      SettleLocked(call, ShuttingDown(), false, &answers);
    } else if (message_bytes_ + bytes > options_.message_budget_bytes) {
      SettleLocked(
          call,
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       absl::StrCat("local_serving: request messages "
                                    "buffered are at the budget of ",
                                    Mib(options_.message_budget_bytes))),
          false, &answers);
    } else {
      call->held_bytes_ = bytes;
      message_bytes_ += bytes;
      pod = PickLocked(call);
      if (pod != nullptr) {
        AssignLocked(call, pod);
      } else if (call->state_ != Call::State::kQueued) {
        SettleLocked(call, QueueFull(), false, &answers);
      }
    }
  }
  if (answers.empty() && !pod) {
    // Queued: nothing to do until a pod has room.
  } else if (pod != nullptr) {
    call->StartUpstream(pod.get(), cq_.get());
  } else {
    call->ForgetRequest();
  }
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
  message_bytes_ -= call->held_bytes_;
  call->held_bytes_ = 0;
  if (call->via_activator_) --via_activator_;
  if (call->admitted_) stats_->Depart(now);
  call->answer_code_ = status.error_code();
  call->answered_by_pod_ = answered_by_pod;
  call->latency_ = now - call->arrived_;
  call->Ref();  // the answer's, until gRPC finished sending it
  answers->emplace_back(call, std::move(status));
}

void Router::Deliver(const Answers& answers) {
  for (const auto& [call, status] : answers) call->Finish(status);
}

void Router::Release(Call* call, const grpc::Status& status) {
  Sends sends;
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Pod> pod = std::move(call->pod_);
    --pod->inflight;
    --inflight_;
    const bool routable =
        std::find(pods_.begin(), pods_.end(), pod) != pods_.end();
    if (aborting_) {
      // Nothing more goes to the pods.
    } else if (routable && !pod->queue.empty()) {
      Call* next = pod->queue.front();
      AssignLocked(next, pod);
      sends.emplace_back(next, pod);
    } else {
      DrainLocked(&sends);
    }
    // A pod call cancelled by the shutdown ended for the shutdown.
    SettleLocked(call, call->aborted_ && !status.ok() ? ShuttingDown() : status,
                 /*answered_by_pod=*/!call->aborted_ || status.ok(), &answers);
  }
  Send(sends);
  Deliver(answers);
}

void Router::Cancel(Call* call) {
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    if (call->state_ == Call::State::kUpstream) {
      // The pod's answer (CANCELLED) comes back through Release; the pod
      // call holds the call until then.
      call->CancelUpstream();
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
    // Under the lock: their pod calls hold them, but may end any moment.
    for (Call* call : upstream_) {
      if (call->aborted_) continue;
      call->aborted_ = true;
      call->CancelUpstream();
    }
  }
  Deliver(answers);
}

void Router::Retire(Call* call) {
  if (call->begun_ && observer_ != nullptr) {
    const bool client_ended = call->client_ended_;
    observer_->OnCallDone(
        client_ended ? call->client_code_ : call->answer_code_,
        call->via_activator_, call->answered_by_pod_ && !client_ended,
        call->latency_);
  }
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
