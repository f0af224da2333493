// Which pod a call goes to: the activator's capacity-aware pick, the
// Kubernetes service's round robin with the queue-proxies' queues, and the
// pods joining and leaving the routing set (router.h).
#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "knbench/local_serving/router.h"
#include "router_call.h"

namespace knbench::local_serving {

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
    if (!pod->routable()) continue;
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
      if (!pod->routable()) continue;
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

void Router::MoveLocked(Call* call, std::list<Call*>* list) {
  if (call->list_ != nullptr) call->list_->erase(call->list_pos_);
  call->list_ = list;
  if (list != nullptr) call->list_pos_ = list->insert(list->end(), call);
}

void Router::EnqueueLocked(Call* call, std::list<Call*>* queue) {
  MoveLocked(call, queue);
  call->state_ = Call::State::kQueued;
  call->waiting_since_ = clock_->Now();
  ++queued_;
}

void Router::EndWaitLocked(Call* call, absl::Time now) {
  const absl::Duration waited = now - call->waiting_since_;
  if (call->list_ == &queue_) {
    call->activator_wait_ += waited;
  } else {
    call->queue_wait_ += waited;
  }
}

void Router::AssignLocked(Call* call, const std::shared_ptr<Pod>& pod) {
  if (call->state_ == Call::State::kQueued) {
    EndWaitLocked(call, clock_->Now());
    --queued_;
  }
  MoveLocked(call, &upstream_);
  call->state_ = Call::State::kUpstream;
  call->pod_ = pod;
  if (call->spans.traced) {
    call->spans.dispatched_ns = absl::GetCurrentTimeNanos();
    call->spans.pod = pod->name;
  }
  ++pod->inflight;
  ++inflight_;
}

void Router::DrainLocked(Sends* sends) {
  while (!queue_.empty() && !aborting_) {
    std::shared_ptr<Pod> pod = LeastLoadedLocked();
    if (pod == nullptr) return;
    Call* call = queue_.front();
    AssignLocked(call, pod);
    sends->emplace_back(call, pod);
  }
}

void Router::Send(const Sends& sends) {
  for (const auto& [call, pod] : sends) StartUpstream(call, pod.get());
}

void Router::AddPod(const std::string& name, const std::string& address) {
  Post([this, name, address] { AddPodNow(name, address); });
}

void Router::RemovePod(const std::string& name) {
  // Its queued calls' waits there end now, not when the router's thread
  // gets to it.
  const absl::Time now = clock_->Now();
  Post([this, name, now] { RemovePodNow(name, now); });
}

void Router::SetActivatorInPath(bool in_path) {
  {
    // Seen at once by snapshot(); the queue drains on the router's thread.
    absl::MutexLock lock(&mu_);
    in_path_ = in_path;
  }
  Post([this] {
    Sends sends;
    {
      absl::MutexLock lock(&mu_);
      DrainLocked(&sends);
    }
    Send(sends);
  });
}

void Router::AddPodNow(const std::string& name, const std::string& address) {
  auto pod = std::make_shared<Pod>();
  pod->name = name;
  const size_t colon = address.rfind(':');
  pod->host = address.substr(0, colon);
  if (pod->host.size() > 1 && pod->host.front() == '[') {
    pod->host = pod->host.substr(1, pod->host.size() - 2);
  }
  pod->port = address.substr(colon + 1);
  pod->conn = Dial(pod.get());
  Sends sends;
  {
    absl::MutexLock lock(&mu_);
    pods_.push_back(std::move(pod));
    DrainLocked(&sends);
  }
  Send(sends);
}

void Router::RemovePodNow(const std::string& name, absl::Time now) {
  Sends sends;
  std::shared_ptr<Pod> pod;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(pods_.begin(), pods_.end(),
                           [&](const auto& p) { return p->name == name; });
    if (it == pods_.end()) return;
    pod = *it;
    pods_.erase(it);
    pod->removed = true;
    if (next_pod_ >= pods_.size()) next_pod_ = 0;
    // Calls its queue-proxy held never reached the worker: they wait in the
    // activator again, ahead of later arrivals.
    for (auto rit = pod->queue.rbegin(); rit != pod->queue.rend(); ++rit) {
      Call* call = *rit;
      EndWaitLocked(call, now);
      call->waiting_since_ = now;
      call->list_ = &queue_;
      call->list_pos_ = queue_.insert(queue_.begin(), call);
    }
    pod->queue.clear();
    DrainLocked(&sends);
  }
  if (pod->inflight == 0 && pod->conn != nullptr) {
    nghttp2_session_terminate_session(pod->conn->h2, NGHTTP2_NO_ERROR);
  }
  Send(sends);
}

}  // namespace knbench::local_serving
