#include "knbench/local_serving/router.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/match.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/byte_buffer.h"

namespace knbench::local_serving {

struct Router::Pod {
  std::string name;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  // The rest is guarded by the router's mutex.
  int64_t inflight = 0;
  std::list<Call*> queue;  // its queue-proxy's queue
};

// One proxied call, driven by completion-queue events. The router's mutex
// guards state_ and the queue fields.
class Router::Call {
 public:
  enum class State { kReading, kQueued, kUpstream, kDone };
  enum class Op { kAccept, kRead, kUpstream, kFinish, kDone };

  // A completion-queue tag: which call, which operation.
  struct Tag {
    Call* call;
    Op op;
  };

  explicit Call(Router* router)
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

  void OnEvent(Op op, bool ok) {
    switch (op) {
      case Op::kAccept:
        // Not started (the server is stopping): no other event will come.
        if (!ok) {
          delete this;
          return;
        }
        router_->Accept();  // the next call
        stream_.Read(&request_, &read_tag_);
        return;
      case Op::kRead:
        if (ok) {
          router_->Admit(this);
          return;
        }
        {
          absl::MutexLock lock(&router_->mu_);
          state_ = State::kDone;
        }
        stream_.Finish(
            grpc::Status(grpc::StatusCode::CANCELLED, "no request message"),
            &finish_tag_);
        return;
      case Op::kUpstream:
        router_->Release(this, upstream_status_);
        return;
      case Op::kDone:
        if (context_.IsCancelled()) router_->Cancel(this);
        Unref();
        return;
      case Op::kFinish:
        Unref();
        return;
    }
  }

  // Sends the request to `pod`; Router::Release follows when it answers.
  void StartUpstream(Pod* pod, grpc::CompletionQueue* cq) {
    upstream_.set_deadline(context_.deadline());
    for (const auto& [key, value] : context_.client_metadata()) {
      const absl::string_view k(key.data(), key.size());
      // Transport headers are gRPC's own; the rest is the caller's.
      if (absl::StartsWith(k, ":") || absl::StartsWith(k, "grpc-") ||
          k == "te" || k == "content-type" || k == "user-agent") {
        continue;
      }
      upstream_.AddMetadata(std::string(k),
                            std::string(value.data(), value.size()));
    }
    reader_ = pod->stub->PrepareUnaryCall(&upstream_, context_.method(),
                                          request_, cq);
    reader_->StartCall();
    reader_->Finish(&response_, &upstream_status_, &upstream_tag_);
  }

  void Answer(const grpc::Status& status) {
    if (status.ok()) {
      stream_.WriteAndFinish(response_, grpc::WriteOptions(), status,
                             &finish_tag_);
    } else {
      stream_.Finish(status, &finish_tag_);
    }
  }

  // Why a call ended before a pod answered it. The caller's own deadline
  // timer usually fires first and cancels the call a little before the
  // deadline as the server computes it (the timeout header travels), so a
  // cancel that close to the deadline counts as the deadline.
  grpc::StatusCode CancelCode() const {
    constexpr auto kSlack = std::chrono::milliseconds(250);
    return context_.deadline() <= std::chrono::system_clock::now() + kSlack
               ? grpc::StatusCode::DEADLINE_EXCEEDED
               : grpc::StatusCode::CANCELLED;
  }

  Router* const router_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ClientContext upstream_;
  grpc::Status upstream_status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader_;
  // Guarded by the router's mutex.
  State state_ = State::kReading;
  bool cancelled_ = false;
  bool via_activator_ = false;
  absl::Time arrived_;
  std::shared_ptr<Pod> pod_;
  std::list<Call*>* queue_ = nullptr;
  std::list<Call*>::iterator queue_pos_;

 private:
  // A started call ends with two events, its finish and its done
  // notification, in either order; the last one deletes it.
  void Unref() {
    if (pending_.fetch_sub(1) == 1) delete this;
  }

  Tag accept_tag_;
  Tag read_tag_;
  Tag upstream_tag_;
  Tag finish_tag_;
  Tag done_tag_;
  std::atomic<int> pending_{2};
};

namespace {

Clock* DefaultClock() {
  static SteadyClock* clock = new SteadyClock;  // never destroyed
  return clock;
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
  cq_ = builder->AddCompletionQueue();
}

void Router::Start(int threads) {
  // A few calls waiting to be matched, so a burst does not wait for them.
  for (int i = 0; i < 16; ++i) Accept();
  for (int i = 0; i < threads; ++i) pollers_.emplace_back([this] { Poll(); });
}

void Router::Accept() { new Call(this); }

void Router::Poll() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) {
    auto* t = static_cast<Call::Tag*>(tag);
    t->call->OnEvent(t->op, ok);
  }
}

void Router::Stop() {
  if (cq_ == nullptr) return;
  cq_->Shutdown();
  if (pollers_.empty()) Poll();  // never started: drain it here
  for (std::thread& t : pollers_) t.join();
  pollers_.clear();
  cq_.reset();
}

void Router::SetArrivalHook(std::function<void()> on_arrival) {
  on_arrival_ = std::move(on_arrival);
}

void Router::Admit(Call* call) {
  const absl::Time now = clock_->Now();
  std::shared_ptr<Pod> pod;
  bool cancelled = false;
  bool refused = false;
  {
    absl::MutexLock lock(&mu_);
    if (call->cancelled_) {
      call->state_ = Call::State::kDone;
      cancelled = true;
    } else {
      stats_->Arrive(now);
      call->arrived_ = now;
      call->via_activator_ = in_path_;
      if (in_path_) ++via_activator_;
      pod = PickLocked(call);
      if (pod != nullptr) {
        AssignLocked(call, pod);
      } else {
        refused = call->state_ != Call::State::kQueued;
      }
    }
  }
  if (cancelled) {
    call->Answer(grpc::Status(call->CancelCode(), "cancelled before routing"));
    return;
  }
  if (hook_enabled_.load(std::memory_order_relaxed) && on_arrival_) {
    on_arrival_();
  }
  if (refused) {
    Answer(call,
           grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "local_serving: request queue is full"),
           /*answered_by_pod=*/false);
  } else if (pod != nullptr) {
    call->StartUpstream(pod.get(), cq_.get());
  }
}

std::shared_ptr<Router::Pod> Router::LeastLoadedLocked() {
  std::shared_ptr<Pod> best;
  size_t best_index = 0;
  const size_t n = pods_.size();
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (next_pod_ + i) % n;
    const std::shared_ptr<Pod>& pod = pods_[index];
    if (options_.container_concurrency > 0 &&
        pod->inflight >= options_.container_concurrency) {
      continue;
    }
    // A pod whose connection broke (the process died) is not sent to.
    if (pod->channel->GetState(false) != GRPC_CHANNEL_READY) continue;
    if (best == nullptr || pod->inflight < best->inflight) {
      best = pod;
      best_index = index;
    }
  }
  if (best != nullptr) next_pod_ = (best_index + 1) % n;
  return best;
}

std::shared_ptr<Router::Pod> Router::PickLocked(Call* call) {
  if (!in_path_) {
    // The Kubernetes service: the next ready pod, whatever its load.
    for (size_t i = 0; i < pods_.size(); ++i) {
      const size_t index = (next_pod_ + i) % pods_.size();
      std::shared_ptr<Pod> pod = pods_[index];
      if (pod->channel->GetState(false) != GRPC_CHANNEL_READY) continue;
      next_pod_ = (index + 1) % pods_.size();
      const int64_t cc = options_.container_concurrency;
      if (cc == 0 || pod->inflight < cc) return pod;
      // Full: its queue-proxy holds the call, up to 10 x CC.
      if (static_cast<int64_t>(pod->queue.size()) < 10 * cc) {
        EnqueueLocked(call, &pod->queue);
      }
      return nullptr;
    }
    // No ready pod: Knative puts the activator back in the path.
  }
  if (std::shared_ptr<Pod> pod = LeastLoadedLocked()) return pod;
  if (static_cast<int64_t>(queue_.size()) < options_.queue_depth) {
    EnqueueLocked(call, &queue_);
  }
  return nullptr;
}

void Router::EnqueueLocked(Call* call, std::list<Call*>* queue) {
  call->queue_ = queue;
  call->queue_pos_ = queue->insert(queue->end(), call);
  call->state_ = Call::State::kQueued;
  ++queued_;
}

void Router::AssignLocked(Call* call, const std::shared_ptr<Pod>& pod) {
  if (call->state_ == Call::State::kQueued) {
    call->queue_->erase(call->queue_pos_);
    call->queue_ = nullptr;
    --queued_;
  }
  call->state_ = Call::State::kUpstream;
  call->pod_ = pod;
  ++pod->inflight;
  ++inflight_;
}

void Router::DrainLocked(Sends* sends) {
  while (!queue_.empty()) {
    std::shared_ptr<Pod> pod = LeastLoadedLocked();
    if (pod == nullptr) return;
    Call* call = queue_.front();
    AssignLocked(call, pod);
    sends->emplace_back(call, pod);
  }
}

void Router::Send(const Sends& sends) {
  for (const auto& [call, pod] : sends)
    call->StartUpstream(pod.get(), cq_.get());
}

void Router::Release(Call* call, const grpc::Status& status) {
  Sends sends;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Pod> pod = std::move(call->pod_);
    --pod->inflight;
    --inflight_;
    call->state_ = Call::State::kDone;
    const bool routable =
        std::find(pods_.begin(), pods_.end(), pod) != pods_.end();
    if (routable && !pod->queue.empty()) {
      Call* next = pod->queue.front();
      AssignLocked(next, pod);
      sends.emplace_back(next, pod);
    } else {
      DrainLocked(&sends);
    }
  }
  Send(sends);
  Answer(call, status, /*answered_by_pod=*/true);
}

void Router::Cancel(Call* call) {
  Call::State state;
  {
    absl::MutexLock lock(&mu_);
    state = call->state_;
    if (state == Call::State::kReading) {
      call->cancelled_ = true;
    } else if (state == Call::State::kQueued) {
      call->queue_->erase(call->queue_pos_);
      call->queue_ = nullptr;
      --queued_;
      call->state_ = Call::State::kDone;
    }
  }
  if (state == Call::State::kQueued) {
    Answer(call, grpc::Status(call->CancelCode(), "cancelled while queued"),
           /*answered_by_pod=*/false);
  } else if (state == Call::State::kUpstream) {
    // The pod's answer (CANCELLED) comes back through Release; the call
    // lives until this done event has been handled.
    call->upstream_.TryCancel();
  }
}

void Router::Answer(Call* call, const grpc::Status& status,
                    bool answered_by_pod) {
  const absl::Time now = clock_->Now();
  bool via_activator;
  {
    absl::MutexLock lock(&mu_);
    via_activator = call->via_activator_;
    if (via_activator) --via_activator_;
  }
  stats_->Depart(now);
  if (observer_ != nullptr) {
    observer_->OnCallDone(status.error_code(), via_activator, answered_by_pod,
                          now - call->arrived_);
  }
  call->Answer(status);
}

void Router::AddPod(const std::string& name,
                    std::shared_ptr<grpc::Channel> channel) {
  auto pod = std::make_shared<Pod>();
  pod->name = name;
  pod->stub = std::make_unique<grpc::GenericStub>(channel);
  pod->channel = std::move(channel);
  Sends sends;
  {
    absl::MutexLock lock(&mu_);
    pods_.push_back(std::move(pod));
    DrainLocked(&sends);
  }
  Send(sends);
}

void Router::RemovePod(const std::string& name) {
  Sends sends;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(pods_.begin(), pods_.end(),
                           [&](const auto& p) { return p->name == name; });
    if (it == pods_.end()) return;
    std::shared_ptr<Pod> pod = *it;
    pods_.erase(it);
    if (next_pod_ >= pods_.size()) next_pod_ = 0;
    // Calls its queue-proxy held never reached the worker: they wait in the
    // activator again, ahead of later arrivals.
    for (auto rit = pod->queue.rbegin(); rit != pod->queue.rend(); ++rit) {
      Call* call = *rit;
      call->queue_ = &queue_;
      call->queue_pos_ = queue_.insert(queue_.begin(), call);
    }
    pod->queue.clear();
    DrainLocked(&sends);
  }
  Send(sends);
}

void Router::SetActivatorInPath(bool in_path) {
  Sends sends;
  {
    absl::MutexLock lock(&mu_);
    in_path_ = in_path;
    DrainLocked(&sends);
  }
  Send(sends);
}

Router::Snapshot Router::snapshot() const {
  absl::MutexLock lock(&mu_);
  Snapshot s;
  s.activator_in_path = in_path_;
  s.queued = queued_;
  s.inflight = inflight_;
  s.via_activator = via_activator_;
  return s;
}

}  // namespace knbench::local_serving
