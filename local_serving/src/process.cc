#include "knbench/local_serving/process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/cgroups/join.h"
#include "knbench/common/log.h"

extern char** environ;

namespace knbench::local_serving {
namespace {

void WriteError(const char* what, int error) {
  const char* why = strerror(error);
  (void)!write(STDERR_FILENO, what, strlen(what));
  (void)!write(STDERR_FILENO, why, strlen(why));
  (void)!write(STDERR_FILENO, "\n", 1);
}

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void ExecChild(pid_t parent, int log_fd,
                            const cgroups::CgroupJoin& join, char* const argv[],
                            char* const envp[]) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  // Into the pod's cgroup before anything of the worker runs (the log is
  // open by now, so a failure is said there).
  if (const int error = join.JoinSelf(); error != 0) {
    WriteError("local_serving: cannot join the pod's cgroup: ", error);
    _exit(127);
  }
  close_range(3, ~0U, 0);
  execve(argv[0], argv, envp);
  WriteError("local_serving: cannot execute worker: ", errno);
  _exit(127);
}

// The wait status of child `pid` if it has exited (reaped now); 0 if it
// is no child of ours (reaped before).
std::optional<int> ReapOne(pid_t pid) {
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return status;
  if (r < 0 && errno == ECHILD) return 0;
  return std::nullopt;
}

// Reaps the exited processes of group `pgid` that are our children; true
// once none is left.
bool ReapGroup(pid_t pgid) {
  int status = 0;
  while (true) {
    const pid_t r = waitpid(-pgid, &status, WNOHANG);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    return r < 0;  // ECHILD: no child in the group; 0: some still run
  }
}

}  // namespace

absl::StatusOr<pid_t> SpawnProcess(const ProcessSpec& spec) {
  // Everything the child needs is built before fork.
  std::vector<std::string> args = {spec.path};
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (spec.env.count(name) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : spec.env) {
    env.push_back(absl::StrCat(name, "=", value));
  }
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  absl::StatusOr<cgroups::CgroupJoin> join =
      cgroups::CgroupJoin::Open(spec.cgroup_procs);
  if (!join.ok()) return join.status();
  const int log_fd = open(spec.log_path.c_str(),
                          O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", spec.log_path, ": ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecChild(parent, log_fd, *join, argv.data(), envp.data());
  const int fork_errno = errno;
  // Also here, so that the group exists before the child runs: a signal to
  // it right after this returns must not miss.
  if (pid > 0) setpgid(pid, pid);
  close(log_fd);
  if (pid < 0) {
    return absl::UnavailableError(absl::StrCat("fork: ", strerror(fork_errno)));
  }
  return pid;
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exit ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return absl::StrCat("signal ", sig, " (", strsignal(sig), ")");
  }
  return absl::StrCat("status ", wait_status);
}

RealProcesses::RealProcesses() {
  // A group's processes whose parent exits (a wrapper script's worker)
  // become ours, to be reaped with their group, not init's.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  absl::StatusOr<std::unique_ptr<PodWatchdog>> watchdog = PodWatchdog::Start();
  if (watchdog.ok()) {
    watchdog_ = *std::move(watchdog);
  } else {
    Logf(
        "warning: %s: if local_serving is killed, only each pod's first "
        "process dies with it",
        watchdog.status().message());
  }
}

RealProcesses::~RealProcesses() = default;

absl::StatusOr<pid_t> RealProcesses::Spawn(const ProcessSpec& spec) {
  absl::StatusOr<pid_t> pid = SpawnProcess(spec);
  if (!pid.ok()) return pid;
  absl::MutexLock lock(&mu_);
  groups_[*pid] = Group{};
  if (watchdog_ != nullptr) watchdog_->Watch(*pid);
  exits_.Add(*pid);
  return pid;
}

std::optional<int> RealProcesses::Reap(pid_t pid) {
  absl::MutexLock lock(&mu_);
  Group& group = groups_[pid];
  if (!group.leader_exit.has_value()) {
    group.leader_exit = ReapOne(pid);
    if (!group.leader_exit.has_value()) return std::nullopt;
    if (!group.terminating) kill(-pid, SIGKILL);
  }
  if (!ReapGroup(pid)) return std::nullopt;
  const int status = *group.leader_exit;
  groups_.erase(pid);
  if (watchdog_ != nullptr) watchdog_->Forget(pid);
  return status;
}

void RealProcesses::SetExitListener(std::function<void()> listener) {
  exits_.SetListener(std::move(listener));
}

bool RealProcesses::TellsExit(pid_t pid) { return exits_.Watching(pid); }

void RealProcesses::Signal(pid_t pid, int signal) {
  absl::MutexLock lock(&mu_);
  if (signal == SIGTERM) groups_[pid].terminating = true;
  // The whole group: it exists from SpawnProcess's return until Reap has
  // reaped its last process, so the id cannot be another's meanwhile.
  kill(-pid, signal);
}

}  // namespace knbench::local_serving
