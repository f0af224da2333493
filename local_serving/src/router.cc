#include "knbench/local_serving/router.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
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

// One proxied call. The router's mutex guards state_ and the queue fields.
class Router::Call : public grpc::ServerGenericBidiReactor {
 public:
  enum class State { kReading, kQueued, kUpstream, kDone };

  Call(Router* router, grpc::GenericCallbackServerContext* context)
      : router_(router), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      router_->Admit(this);
      return;
    }
    {
      absl::MutexLock lock(&router_->mu_);
      state_ = State::kDone;
    }
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "no request message"));
  }
  void OnCancel() override { router_->Cancel(this); }
  void OnDone() override { delete this; }

  // Sends the request to `pod`; Router::Release follows when it answers.
  void StartUpstream(Pod* pod) {
    upstream_.set_deadline(context_->deadline());
    for (const auto& [key, value] : context_->client_metadata()) {
      const absl::string_view k(key.data(), key.size());
      // Transport headers are gRPC's own; the rest is the caller's.
      if (absl::StartsWith(k, ":") || absl::StartsWith(k, "grpc-") ||
          k == "te" || k == "content-type" || k == "user-agent") {
        continue;
      }
      upstream_.AddMetadata(std::string(k),
                            std::string(value.data(), value.size()));
    }
    pod->stub->UnaryCall(&upstream_, context_->method(), grpc::StubOptions(),
                         &request_, &response_,
                         [this](grpc::Status s) { router_->Release(this, s); });
  }

  void Answer(const grpc::Status& status) {
    if (status.ok()) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
    } else {
      Finish(status);
    }
  }

  grpc::StatusCode CancelCode() const {
    return context_->deadline() <= std::chrono::system_clock::now()
               ? grpc::StatusCode::DEADLINE_EXCEEDED
               : grpc::StatusCode::CANCELLED;
  }

  Router* const router_;
  grpc::GenericCallbackServerContext* const context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ClientContext upstream_;
  // Guarded by the router's mutex.
  State state_ = State::kReading;
  bool cancelled_ = false;
  bool via_activator_ = false;
  absl::Time arrived_;
  std::shared_ptr<Pod> pod_;
  std::list<Call*>* queue_ = nullptr;
  std::list<Call*>::iterator queue_pos_;
};

Router::Router(RouterOptions options, SecondStats* stats,
               RouterObserver* observer)
    : options_(options), stats_(stats), observer_(observer) {}

Router::~Router() = default;

grpc::ServerGenericBidiReactor* Router::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new Call(this, context);
}

void Router::SetArrivalHook(std::function<void()> on_arrival) {
  on_arrival_ = std::move(on_arrival);
}

void Router::Admit(Call* call) {
  const absl::Time now = SteadyNow();
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
        Sends unused;
        AssignLocked(call, pod, &unused);
      } else {
        refused = call->state_ != Call::State::kQueued;
      }
    }
  }
  if (cancelled) {
    call->Finish(grpc::Status(call->CancelCode(), "cancelled before routing"));
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
    call->StartUpstream(pod.get());
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

void Router::AssignLocked(Call* call, const std::shared_ptr<Pod>& pod,
                          Sends* sends) {
  if (call->state_ == Call::State::kQueued) {
    call->queue_->erase(call->queue_pos_);
    call->queue_ = nullptr;
    --queued_;
  }
  call->state_ = Call::State::kUpstream;
  call->pod_ = pod;
  ++pod->inflight;
  ++inflight_;
  sends->emplace_back(call, pod);
}

void Router::DrainLocked(Sends* sends) {
  while (!queue_.empty()) {
    std::shared_ptr<Pod> pod = LeastLoadedLocked();
    if (pod == nullptr) return;
    AssignLocked(queue_.front(), pod, sends);
  }
}

void Router::Send(const Sends& sends) {
  for (const auto& [call, pod] : sends) call->StartUpstream(pod.get());
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
      AssignLocked(pod->queue.front(), pod, &sends);
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
    // The pod's answer (CANCELLED) comes back through Release. gRPC does not
    // destroy the reactor before OnCancel returns, so `call` is alive here.
    call->upstream_.TryCancel();
  }
}

void Router::Answer(Call* call, const grpc::Status& status,
                    bool answered_by_pod) {
  const absl::Time now = SteadyNow();
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
  call->Answer(status);  // may delete `call`
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
  s.routable_pods = static_cast<int64_t>(pods_.size());
  s.queued = queued_;
  s.inflight = inflight_;
  s.via_activator = via_activator_;
  return s;
}

}  // namespace knbench::local_serving
