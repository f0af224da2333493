#include "knbench/local_serving/exit_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>
#include <vector>

namespace knbench::local_serving {

ExitWatch::ExitWatch() : wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ >= 0) thread_ = std::thread([this] { Run(); });
}

ExitWatch::~ExitWatch() {
  {
    absl::MutexLock lock(&mu_);
    quit_ = true;
  }
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (const auto& [pid, fd] : pidfds_) close(fd);
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool ExitWatch::Add(pid_t pid) {
  if (!thread_.joinable()) return false;
  // Not glibc 2.36's pidfd_open: its header lacks extern "C".
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return false;
  {
    absl::MutexLock lock(&mu_);
    if (!pidfds_.emplace(pid, fd).second) close(fd);  // watched already
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  return true;
}

bool ExitWatch::Watching(pid_t pid) {
  absl::MutexLock lock(&mu_);
  return pidfds_.count(pid) > 0;
}

void ExitWatch::SetListener(std::function<void()> listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

void ExitWatch::Run() {
  std::vector<pollfd> fds;
  std::vector<pid_t> pids;
  while (true) {
    fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
    pids.assign(1, 0);
    {
      absl::MutexLock lock(&mu_);
      if (quit_) return;
      for (const auto& [pid, fd] : pidfds_) {
        fds.push_back(pollfd{fd, POLLIN, 0});
        pids.push_back(pid);
      }
    }
    if (poll(fds.data(), fds.size(), -1) <= 0) continue;  // EINTR
    uint64_t count = 0;
    if (fds[0].revents != 0) (void)!read(wake_fd_, &count, sizeof(count));
    bool exited = false;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      // Readable: the process exited (a zombie until its parent reaps it).
      absl::MutexLock lock(&mu_);
      close(fds[i].fd);
      pidfds_.erase(pids[i]);
      exited = true;
    }
    if (!exited) continue;
    absl::MutexLock lock(&listener_mu_);
    if (listener_) listener_();
  }
}

}  // namespace knbench::local_serving
