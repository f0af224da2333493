#include "knbench/local_serving/pod_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/log.h"
#include "knbench/common/net.h"
#include "knbench/local_serving/pod_ports.h"
#include "knbench/local_serving/pod_spec.h"
#include "knbench/local_serving/restart_policy.h"

namespace knbench::local_serving {
namespace {

// How soon a process that ended is noticed when the launcher does not tell
// (a fake, no pidfds, or a group whose leader is gone but not the rest).
constexpr absl::Duration kReapPeriod = absl::Milliseconds(10);
constexpr absl::Duration kProbePeriod = absl::Milliseconds(25);
// `injected`, or else a real one owned by `owned`.
template <typename T, typename Real>
T* OrReal(T* injected, std::unique_ptr<T>* owned) {
  if (injected != nullptr) return injected;
  *owned = std::make_unique<Real>();
  return owned->get();
}

}  // namespace

const char* PodPhaseName(PodPhase phase) {
  switch (phase) {
    case PodPhase::kPending:
      return "pending";
    case PodPhase::kStarting:
      return "starting";
    case PodPhase::kReady:
      return "ready";
    case PodPhase::kTerminating:
      return "terminating";
  }
  return "unknown";
}

struct PodManager::Pod {
  PodStatus status;
  uint64_t id = 0;      // creation order
  absl::Time start_at;  // pending: when to start the process
  absl::Time started;   // the process's start
  absl::Time kill_at;   // terminating: SIGKILL after this
  absl::Time next_probe;
  RestartBackoff backoff;
  bool warned = false;
  bool has_cgroup = false;
  uint64_t oom_kills_at_start = 0;  // its cgroup's, when the process started
  std::shared_ptr<grpc::Channel> channel;
};

PodManager::PodManager(Options options, Listener listener)
    : PodManager(std::move(options), std::move(listener), World{}) {}

PodManager::PodManager(Options options, Listener listener, World world)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      clock_(OrReal<Clock, SteadyClock>(world.clock, &own_clock_)),
      processes_(OrReal<ProcessLauncher, RealProcesses>(world.processes,
                                                        &own_processes_)),
      readiness_(OrReal<ReadinessProbe, GrpcHealthProbe>(world.readiness,
                                                         &own_readiness_)),
      cgroups_(world.cgroups) {}

PodManager::~PodManager() {
  Stop(absl::ZeroDuration());
  processes_->SetExitListener(nullptr);
}

void PodManager::Start() {
  // A pod's exit wakes the loop; without it, the loop polls (kReapPeriod).
  processes_->SetExitListener([this] {
    absl::MutexLock lock(&mu_);
    poked_ = true;
  });
  thread_ = std::thread([this] { Loop(); });
}

void PodManager::ScaleTo(int32_t pods) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  if (pods > options_.max_pods) {
    if (!capped_warned_) {
      Logf("warning: the autoscaler asks for %d pods; --max-pods keeps %d",
           pods, options_.max_pods);
      capped_warned_ = true;
    }
    pods = options_.max_pods;
  }
  pods = std::max(0, pods);
  if (pods != desired_) poked_ = true;
  desired_ = pods;
  // New pods exist (pending) from now, as a Deployment's do once scaled:
  // whoever lists the pods next (the HPA's metrics) sees them.
  AddPending(clock_->Now());
}

std::string PodManager::NewName() {
  // Deployment pods end in 5 random characters; a counter keeps them unique.
  static constexpr char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::mt19937 rng(static_cast<uint32_t>(next_id_ * 2654435761u + 12345));
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix.push_back(kChars[rng() % 27]);
  return absl::StrCat(options_.name_prefix, "-", next_id_, suffix);
}

void PodManager::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    poked_ = false;
    Round();
    if (stopping_ && pods_.empty()) return;
    clock_->AwaitWithDeadline(
        mu_,
        absl::Condition(
            +[](PodManager* m)
                 ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu_) { return m->poked_; },
            this),
        NextRound(clock_->Now()));
  }
}

void PodManager::Round() {
  Step(clock_->Now());
  CheckReadiness();
  Report();
}

void PodManager::CheckReadiness() {
  // Starting pods due a check. Only this thread erases pods, so the
  // pointers stay valid while the checks run without the lock: a check may
  // take the probe's timeout, and ScaleTo(), counts() and pods() (called by
  // the autoscaler and the router's side) must not wait for it.
  // Names and channels are copied: Stop() may terminate a pod meanwhile,
  // which drops its channel.
  std::vector<Pod*> due;
  std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>> probes;
  const absl::Time now = clock_->Now();
  for (auto& p : pods_) {
    if (p->status.phase == PodPhase::kStarting && now >= p->next_probe) {
      due.push_back(p.get());
      probes.emplace_back(p->status.name, p->channel);
    }
  }
  if (due.empty()) return;
  std::vector<bool> serving;
  mu_.Unlock();
  for (const auto& [name, channel] : probes) {
    serving.push_back(readiness_->Serving(name, channel));
  }
  mu_.Lock();
  for (size_t i = 0; i < due.size(); ++i) {
    // Stop() may have terminated it meanwhile.
    if (due[i]->status.phase == PodPhase::kStarting) {
      Probed(*due[i], serving[i], clock_->Now());
    }
  }
}

void PodManager::Report() {
  std::vector<PodStatus> pods;
  const bool changed = membership_changed_;
  membership_changed_ = false;
  if (changed) pods = StatusLocked();
  std::optional<PodCounts> counts;
  const PodCounts current = CountsLocked();
  if (!reported_once_ || !(current == reported_)) {
    counts = current;
    reported_ = current;
    reported_once_ = true;
  }
  mu_.Unlock();
  if (changed && listener_.changed) listener_.changed(pods);
  if (counts.has_value() && listener_.counts) listener_.counts(*counts);
  mu_.Lock();
}

absl::Time PodManager::NextRound(absl::Time now) const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& p : pods_) {
    const Pod& pod = *p;
    if (pod.status.pid != 0 && !processes_->TellsExit(pod.status.pid)) {
      next = std::min(next, now + kReapPeriod);
    }
    switch (pod.status.phase) {
      case PodPhase::kPending:
        next = std::min(next, pod.start_at);
        break;
      case PodPhase::kStarting:
        next = std::min(next, pod.next_probe);
        break;
      case PodPhase::kReady:
        break;
      case PodPhase::kTerminating:
        if (pod.status.pid != 0) next = std::min(next, pod.kill_at);
        break;
    }
  }
  return next;
}

void PodManager::Step(absl::Time now) {
  for (auto& p : pods_) {
    Pod& pod = *p;
    const std::optional<int> exit =
        pod.status.pid == 0 ? std::nullopt : processes_->Reap(pod.status.pid);
    if (exit.has_value()) Reaped(pod, *exit, now);
  }

  Reconcile(now);  // also erases the terminating pods just reaped

  for (auto& p : pods_) {
    Pod& pod = *p;
    switch (pod.status.phase) {
      case PodPhase::kPending:
        if (now >= pod.start_at) Spawn(pod, now);
        break;
      case PodPhase::kStarting:  // checked by CheckReadiness()
      case PodPhase::kReady:
        break;
      case PodPhase::kTerminating:
        if (pod.status.pid != 0 && now >= pod.kill_at) {
          processes_->Signal(pod.status.pid, SIGKILL);
          pod.kill_at = absl::InfiniteFuture();
        }
        break;
    }
  }
}

void PodManager::Reaped(Pod& pod, int exit, absl::Time now) {
  membership_changed_ = true;
  pod.status.pid = 0;
  if (pod.status.phase == PodPhase::kTerminating) {
    Logf("pod %s stopped (%s)", pod.status.name, DescribeExit(exit));
    return;
  }
  // Died on its own: out of the routing set, restarted like the kubelet
  // does.
  if (pod.status.phase == PodPhase::kReady) {
    pod.status.ready_changed_at = now;
    if (listener_.gone) listener_.gone(pod.status.name);
  }
  const absl::Duration delay = pod.backoff.Died(pod.started, now);
  const bool oom_killed =
      pod.has_cgroup &&
      cgroups_->OomKills(pod.status.name) > pod.oom_kills_at_start;
  const std::string reason = TerminationReason(exit, oom_killed);
  Logf("pod %s died (%s, %s; its log: %s); restart %d in %s", pod.status.name,
       DescribeExit(exit), reason, PodLogPath(options_, pod.status.name),
       pod.status.restarts + 1, absl::FormatDuration(delay));
  pod.status.phase = PodPhase::kPending;
  pod.status.restarts += 1;
  pod.status.last_termination_reason = reason;
  ++restarts_;
  ++restarts_by_reason_[reason];
  pod.start_at = now + delay;
}

std::vector<PodManager::Pod*> PodManager::Active() {
  std::vector<Pod*> active;
  for (auto& p : pods_) {
    if (p->status.phase != PodPhase::kTerminating) active.push_back(p.get());
  }
  return active;
}

void PodManager::AddPending(absl::Time now) {
  const int32_t want = stopping_ ? 0 : desired_;
  for (auto n = static_cast<int32_t>(Active().size()); n < want; ++n) {
    auto pod = std::make_unique<Pod>();
    pod->id = next_id_;
    pod->status.name = NewName();
    ++next_id_;
    pod->start_at = now + options_.start_delay;
    pods_.push_back(std::move(pod));
  }
}

void PodManager::Reconcile(absl::Time now) {
  const int32_t want = stopping_ ? 0 : desired_;
  AddPending(now);
  std::vector<Pod*> active = Active();
  if (static_cast<int32_t>(active.size()) > want) {
    // Not ready before ready, newest first within each.
    std::sort(active.begin(), active.end(), [](const Pod* a, const Pod* b) {
      const bool a_ready = a->status.phase == PodPhase::kReady;
      const bool b_ready = b->status.phase == PodPhase::kReady;
      if (a_ready != b_ready) return !a_ready;
      return a->id > b->id;
    });
    const size_t excess = active.size() - static_cast<size_t>(want);
    for (size_t i = 0; i < excess; ++i) {
      Terminate(*active[i], now, options_.termination_grace);
    }
  }
  // Terminating pods whose process was reaped (or never started) are gone.
  Erase([](const Pod& p) {
    return p.status.phase == PodPhase::kTerminating && p.status.pid == 0;
  });
}

template <typename Pred>
void PodManager::Erase(Pred gone) {
  for (auto it = pods_.begin(); it != pods_.end();) {
    if (!gone(**it)) {
      ++it;
      continue;
    }
    if ((*it)->has_cgroup) cgroups_->Remove((*it)->status.name);
    it = pods_.erase(it);
  }
}

bool PodManager::EnsureCgroup(Pod& pod) {
  if (cgroups_ == nullptr || pod.has_cgroup) return true;
  // Made at the first start, not at creation: a pod scaled away while
  // pending never needs one. A failure is retried, as the kubelet retries a
  // pod sandbox it could not create.
  if (absl::Status st = cgroups_->Add(pod.status.name); !st.ok()) {
    Logf("pod %s: cgroup: %s", pod.status.name, st.message());
    return false;
  }
  pod.has_cgroup = true;
  return true;
}

void PodManager::Terminate(Pod& pod, absl::Time now, absl::Duration grace) {
  if (pod.status.phase == PodPhase::kReady && listener_.gone) {
    listener_.gone(pod.status.name);  // no new calls, then SIGTERM
  }
  pod.status.phase = PodPhase::kTerminating;
  // The worker's server stops only once its clients close their
  // connections; nothing polls this channel once the router is done with
  // it, so it would close only at gRPC's 5 s backup poll. Dropped here, it
  // closes when the router's last call on it ends.
  pod.channel.reset();
  if (pod.status.pid != 0) {
    processes_->Signal(pod.status.pid, SIGTERM);
    pod.kill_at = now + grace;
  }
  membership_changed_ = true;
}

void PodManager::Spawn(Pod& pod, absl::Time now) {
  if (!EnsureCgroup(pod)) {
    pod.start_at = now + absl::Seconds(1);
    return;
  }
  // Not a port another pod was given: its worker may not have bound it yet.
  std::set<int> taken;
  for (const auto& p : pods_) {
    taken.insert({p->status.grpc_port, p->status.metrics_port});
  }
  absl::StatusOr<PodPorts> ports = PickPodPorts(options_.host, taken);
  if (!ports.ok()) {
    Logf("pod %s: %s", pod.status.name, ports.status().message());
    pod.start_at = now + absl::Seconds(1);
    return;
  }
  ProcessSpec spec = WorkerSpec(options_, pod.status.name, *ports);
  if (pod.has_cgroup) spec.cgroup_procs = cgroups_->ProcsFiles(pod.status.name);
  absl::StatusOr<pid_t> pid = processes_->Spawn(spec);
  if (!pid.ok()) {
    Logf("pod %s: %s", pod.status.name, pid.status().message());
    pod.start_at = now + absl::Seconds(1);
    return;
  }
  if (pod.has_cgroup) {
    cgroups_->Track(pod.status.name, *pid);
    pod.oom_kills_at_start = cgroups_->OomKills(pod.status.name);
  }
  if (!pod.status.started_once) {
    pod.status.started_at = now;
    pod.status.ready_changed_at = now;  // Ready is False from the start
  }
  pod.status.pid = *pid;
  pod.status.grpc_port = ports->grpc;
  pod.status.metrics_port = ports->metrics;
  pod.status.phase = PodPhase::kStarting;
  pod.status.started_once = true;
  pod.started = now;
  pod.next_probe = now;
  pod.warned = false;
  pod.channel = PodChannel(options_.host, ports->grpc);
  membership_changed_ = true;
  Logf("pod %s started (pid %d, gRPC %s:%d, metrics :%d)", pod.status.name,
       *pid, options_.host, ports->grpc, ports->metrics);
}

void PodManager::Probed(Pod& pod, bool serving, absl::Time now) {
  if (serving) {
    pod.status.phase = PodPhase::kReady;
    pod.status.ready_changed_at = now;
    Logf("pod %s ready after %s", pod.status.name,
         absl::FormatDuration(
             absl::Trunc(now - pod.started, absl::Milliseconds(1))));
    if (listener_.ready) {
      listener_.ready(pod.status.name,
                      JoinHostPort(options_.host, pod.status.grpc_port));
    }
    return;
  }
  pod.next_probe = now + kProbePeriod;
  if (!pod.warned && now - pod.started >= options_.not_ready_warning) {
    Logf("warning: pod %s not ready after %s (its log: %s)", pod.status.name,
         absl::FormatDuration(options_.not_ready_warning),
         PodLogPath(options_, pod.status.name));
    pod.warned = true;
  }
}

PodCounts PodManager::counts() const {
  absl::MutexLock lock(&mu_);
  return CountsLocked();
}

PodCounts PodManager::CountsLocked() const {
  PodCounts c;
  c.requested = stopping_ ? 0 : desired_;
  c.restarts = restarts_;
  c.restarts_by_reason = restarts_by_reason_;
  for (const auto& p : pods_) {
    switch (p->status.phase) {
      case PodPhase::kPending:
        if (!p->status.started_once) ++c.pending;
        ++c.not_ready;
        break;
      case PodPhase::kStarting:
        ++c.not_ready;
        break;
      case PodPhase::kReady:
        ++c.ready;
        break;
      case PodPhase::kTerminating:
        ++c.terminating;
        break;
    }
  }
  return c;
}

std::vector<PodStatus> PodManager::StatusLocked() const {
  std::vector<PodStatus> out;
  for (const auto& p : pods_) out.push_back(p->status);
  return out;
}

std::vector<PodStatus> PodManager::pods() const {
  absl::MutexLock lock(&mu_);
  return StatusLocked();
}

void PodManager::Stop(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      poked_ = true;
      const absl::Time now = clock_->Now();
      for (auto& p : pods_) {
        if (p->status.phase != PodPhase::kTerminating) {
          Terminate(*p, now, grace);
        } else {
          p->kill_at = std::min(p->kill_at, now + grace);
        }
      }
    }
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace knbench::local_serving
