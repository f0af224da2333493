// The pods' world faked at its boundary (ProcessLauncher, ReadinessProbe),
// for tests that drive PodManager on a fake clock: nothing is started.
#ifndef KNBENCH_LOCAL_SERVING_TESTS_FAKE_WORLD_H_
#define KNBENCH_LOCAL_SERVING_TESTS_FAKE_WORLD_H_

#include <signal.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "knbench/local_serving/health_probe.h"
#include "knbench/local_serving/process.h"

namespace knbench::local_serving::testing {

// Processes that exist only here: the test decides when they end. One that
// gets SIGKILL ends at once; with `exit_on_sigterm` so does one that gets
// SIGTERM.
class FakeProcesses : public ProcessLauncher {
 public:
  absl::StatusOr<pid_t> Spawn(const ProcessSpec& spec) override {
    absl::MutexLock lock(&mu_);
    const pid_t pid = next_pid_++;
    specs_[pid] = spec;
    return pid;
  }
  std::optional<int> Reap(pid_t pid) override {
    absl::MutexLock lock(&mu_);
    ++reaps_;
    auto it = exited_.find(pid);
    if (it == exited_.end()) return std::nullopt;
    const int status = it->second;
    exited_.erase(it);
    reaped_.insert(pid);
    return status;
  }
  void Signal(pid_t pid, int signal) override {
    absl::MutexLock lock(&mu_);
    signals_.push_back({pid, signal});
    if (signal == SIGKILL || (signal == SIGTERM && exit_on_sigterm_)) {
      exited_[pid] = signal;  // as waitpid reports death by a signal
    }
  }

  // Also ends those that got SIGTERM already.
  void ExitOnSigterm() {
    absl::MutexLock lock(&mu_);
    exit_on_sigterm_ = true;
    for (const auto& [pid, signal] : signals_) {
      if (signal == SIGTERM && !reaped_.count(pid))
        exited_.emplace(pid, signal);
    }
  }
  void Exit(pid_t pid, int code) {
    absl::MutexLock lock(&mu_);
    exited_[pid] = code << 8;  // as waitpid reports exit(code)
  }
  int spawned() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(specs_.size());
  }
  // How often Reap was called: how often the manager looked.
  int reaps() {
    absl::MutexLock lock(&mu_);
    return reaps_;
  }
  ProcessSpec spec(pid_t pid) {
    absl::MutexLock lock(&mu_);
    return specs_.at(pid);
  }
  // The signals sent to `pid`, in order.
  std::vector<int> signals(pid_t pid) {
    absl::MutexLock lock(&mu_);
    std::vector<int> out;
    for (const auto& [p, s] : signals_) {
      if (p == pid) out.push_back(s);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  pid_t next_pid_ = 1000;
  std::map<pid_t, ProcessSpec> specs_;
  std::map<pid_t, int> exited_;  // not reaped yet
  std::set<pid_t> reaped_;
  int reaps_ = 0;
  std::vector<std::pair<pid_t, int>> signals_;
  bool exit_on_sigterm_ = false;
};

// Pods are ready once the test says so.
class FakeReadiness : public ReadinessProbe {
 public:
  bool Serving(const std::string& pod,
               const std::shared_ptr<grpc::Channel>&) override {
    absl::MutexLock lock(&mu_);
    return all_ || serving_.count(pod) > 0;
  }
  void SetServing(const std::string& pod) {
    absl::MutexLock lock(&mu_);
    serving_.insert(pod);
  }
  // Every pod is, from now on.
  void SetAllServing() {
    absl::MutexLock lock(&mu_);
    all_ = true;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> serving_;
  bool all_ = false;
};

}  // namespace knbench::local_serving::testing

#endif  // KNBENCH_LOCAL_SERVING_TESTS_FAKE_WORLD_H_
