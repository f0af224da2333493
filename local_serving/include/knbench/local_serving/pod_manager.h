// The Deployment and the kubelet of local serving: keeps as many pods as the
// autoscaler asks for, each one process of the real worker binary on free
// loopback ports. A pod is pending for the start delay (image pull and
// container start), then starting until its grpc.health.v1 check answers
// SERVING, then ready. Scale-down takes pending and not-ready pods first,
// newest first, then the newest ready ones; a ready pod leaves the routing
// set before it gets SIGTERM and drains. A pod whose process dies is
// restarted as the kubelet would (at once the first time, then after 10 s,
// 20 s, ... up to 5 min) and counted with the kubelet's reason: OOMKilled
// (a SIGKILL while its cgroup's OOM kills went up), Error or Completed.
// Each pod gets its own cgroup when it first starts (PodCgroups), which
// every process of it joins, and which goes once the pod is gone.
//
// One thread keeps the pods: it waits on a condition (a new scale, Stop)
// with a deadline from the clock (the next start, readiness check, SIGKILL,
// or look at the running processes), so an idle manager does not wake.
#ifndef KNBENCH_LOCAL_SERVING_POD_MANAGER_H_
#define KNBENCH_LOCAL_SERVING_POD_MANAGER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "knbench/common/clock.h"
#include "knbench/local_serving/health_probe.h"
#include "knbench/local_serving/pod_cgroups.h"
#include "knbench/local_serving/process.h"

namespace knbench::local_serving {

enum class PodPhase { kPending, kStarting, kReady, kTerminating };
const char* PodPhaseName(PodPhase phase);

struct PodStatus {
  std::string name;
  PodPhase phase = PodPhase::kPending;
  pid_t pid = 0;  // 0 while no process runs
  int grpc_port = 0;
  int metrics_port = 0;
  int32_t restarts = 0;
  // Why its process last ended on its own: "OOMKilled", "Error" or
  // "Completed" (the kubelet's reasons); empty before any restart.
  std::string last_termination_reason;
  bool started_once = false;  // pending for the first time (not a restart)
  // Valid once started_once: its first process's start (the pod's
  // status.startTime), and when it last became ready or not ready (its
  // Ready condition's lastTransitionTime).
  absl::Time started_at;
  absl::Time ready_changed_at;
};

struct PodCounts {
  int32_t requested = 0;  // the scale asked for (capped by max_pods)
  int32_t pending = 0;    // never started yet (start delay)
  int32_t not_ready = 0;  // pending + starting + waiting to restart
  int32_t ready = 0;
  int32_t terminating = 0;
  int64_t restarts = 0;  // process deaths restarted, all pods
  // The restarts by termination reason (PodStatus::last_termination_reason).
  std::map<std::string, int64_t> restarts_by_reason;

  bool operator==(const PodCounts& o) const {
    return requested == o.requested && pending == o.pending &&
           not_ready == o.not_ready && ready == o.ready &&
           terminating == o.terminating && restarts == o.restarts &&
           restarts_by_reason == o.restarts_by_reason;
  }
};

class PodManager {
 public:
  struct Options {
    std::string worker_path;
    std::vector<std::string> worker_args;  // after ours, so they win
    std::string log_dir;
    std::string name_prefix = "worker-00001-deployment";
    std::string host = "127.0.0.1";  // pods bind and are reached here
    absl::Duration start_delay = absl::Seconds(2);
    absl::Duration termination_grace = absl::Seconds(30);
    absl::Duration not_ready_warning = absl::Seconds(30);
    int32_t max_pods = 50;
  };
  // Called from the manager's thread.
  struct Listener {
    // joins the routing set, at its gRPC address (host:port)
    std::function<void(const std::string& name, const std::string& address)>
        ready;
    std::function<void(const std::string&)> gone;                // leaves it
    std::function<void(const std::vector<PodStatus>&)> changed;  // processes
    std::function<void(const PodCounts&)> counts;  // any count changed
  };

  // What the pods meet outside the manager; null: the real one (a steady
  // clock, worker processes, gRPC health checks), and no cgroups. Tests
  // fake them.
  struct World {
    Clock* clock = nullptr;
    ProcessLauncher* processes = nullptr;
    ReadinessProbe* readiness = nullptr;
    PodCgroups* cgroups = nullptr;
  };

  PodManager(Options options, Listener listener);
  PodManager(Options options, Listener listener, World world);
  ~PodManager();
  PodManager(const PodManager&) = delete;
  PodManager& operator=(const PodManager&) = delete;

  void Start();
  // The scale the autoscaler asks for. New pods are listed (pending) at
  // once; starts and stops happen on the manager's thread.
  void ScaleTo(int32_t pods);
  PodCounts counts() const;
  std::vector<PodStatus> pods() const;
  // Every pod gets SIGTERM (ready ones leave the routing set first); what is
  // left after `grace` gets SIGKILL. Returns once all have exited.
  void Stop(absl::Duration grace);

 private:
  struct Pod;

  void Loop();
  // One round: processes that ended, scale, starts and SIGKILLs, readiness
  // checks (without the lock), then the listeners (without the lock).
  void Round() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Step(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `pod`'s process ended with `exit`: it is gone, or it restarts.
  void Reaped(Pod& pod, int exit, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckReadiness() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Report() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When the next round is due, if nothing pokes the manager first.
  absl::Time NextRound(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Spawn(Pod& pod, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The outcome of a readiness check of a starting pod.
  void Probed(Pod& pod, bool serving, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Terminate(Pod& pod, absl::Time now, absl::Duration grace)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reconcile(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // New pending pods up to the scale asked for.
  void AddPending(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The pods not terminating.
  std::vector<Pod*> Active() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the pod its cgroup if it has none yet; false (logged) if that
  // failed.
  bool EnsureCgroup(Pod& pod) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Erases the pods (processes reaped) that `gone` selects, and their
  // cgroups.
  template <typename Pred>
  void Erase(Pred gone) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<PodStatus> StatusLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PodCounts CountsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewName() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Listener listener_;
  std::unique_ptr<Clock> own_clock_;
  std::unique_ptr<ProcessLauncher> own_processes_;
  std::unique_ptr<ReadinessProbe> own_readiness_;
  Clock* const clock_;
  ProcessLauncher* const processes_;
  ReadinessProbe* const readiness_;
  PodCgroups* const cgroups_;  // null: none
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Pod>> pods_ ABSL_GUARDED_BY(mu_);
  int32_t desired_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t restarts_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> restarts_by_reason_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;  // wakes the thread's wait
  bool membership_changed_ ABSL_GUARDED_BY(mu_) = false;
  bool capped_warned_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  PodCounts reported_ ABSL_GUARDED_BY(mu_);  // last sent to listener.counts
  bool reported_once_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_POD_MANAGER_H_
