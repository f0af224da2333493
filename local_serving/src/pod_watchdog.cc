#include "knbench/local_serving/pod_watchdog.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace knbench::local_serving {
namespace {

// More than --max-pods allows: a pod's group is listed while it runs.
constexpr int kMaxGroups = 4096;

// The watchdog's whole life. Only async-signal-safe calls: it is forked
// from a process with threads. Messages are int32: +pgid lists a group,
// -pgid unlists it.
[[noreturn]] void WatchdogMain(int fd) {
  setpgid(0, 0);  // not in the terminal's group: Ctrl-C is not for it
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
    signal(sig, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_NAME, "pod-watchdog");
  if (fd > 0) close_range(0, static_cast<unsigned>(fd) - 1, 0);
  close_range(static_cast<unsigned>(fd) + 1, ~0U, 0);
  pid_t groups[kMaxGroups];
  int count = 0;
  char buffer[4096];
  size_t held = 0;  // bytes of a message not yet whole
  while (true) {
    const ssize_t n = read(fd, buffer + held, sizeof(buffer) - held);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // local_serving has gone
    held += static_cast<size_t>(n);
    size_t used = 0;
    for (; held - used >= sizeof(int32_t); used += sizeof(int32_t)) {
      int32_t message;
      memcpy(&message, buffer + used, sizeof(message));
      if (message > 0 && count < kMaxGroups) groups[count++] = message;
      for (int i = 0; message < 0 && i < count; ++i) {
        if (groups[i] == -message) groups[i--] = groups[--count];
      }
    }
    memmove(buffer, buffer + used, held - used);
    held -= used;
  }
  for (int i = 0; i < count; ++i) kill(-groups[i], SIGKILL);
  _exit(0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PodWatchdog>> PodWatchdog::Start() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::UnavailableError(
        absl::StrCat("pod watchdog: socketpair: ", strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    WatchdogMain(fds[1]);
  }
  const int fork_errno = errno;
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return absl::UnavailableError(
        absl::StrCat("pod watchdog: fork: ", strerror(fork_errno)));
  }
  return std::unique_ptr<PodWatchdog>(new PodWatchdog(pid, fds[0]));
}

PodWatchdog::~PodWatchdog() {
  // EOF for the watchdog even if a child forked since holds a copy.
  shutdown(fd_, SHUT_RDWR);
  close(fd_);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void PodWatchdog::Watch(pid_t pgid) { Send(static_cast<int32_t>(pgid)); }

void PodWatchdog::Forget(pid_t pgid) { Send(-static_cast<int32_t>(pgid)); }

void PodWatchdog::Send(int32_t message) {
  // A blocking send of four bytes sends them whole; a watchdog that has
  // died (EPIPE, without SIGPIPE) only loses its guarantee.
  while (send(fd_, &message, sizeof(message), MSG_NOSIGNAL) < 0 &&
         errno == EINTR) {
  }
}

}  // namespace knbench::local_serving
