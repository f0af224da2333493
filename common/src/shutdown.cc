#include "knbench/common/shutdown.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "knbench/common/log.h"

namespace knbench {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

ShutdownSignal::ShutdownSignal() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

ShutdownSignal::~ShutdownSignal() {
  stop_thread_ = true;
  thread_.join();
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void ShutdownSignal::Request() {
  if (!notified_.HasBeenNotified()) notified_.Notify();
}

void ShutdownSignal::Loop() {
  sigset_t set = ShutdownSignals();
  // sigtimedwait with a short timeout lets the destructor stop this thread
  // without sending it a signal.
  const timespec tick = {0, 100 * 1000 * 1000};
  while (!stop_thread_) {
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig <= 0) continue;
    ++received_;
    if (!graceful_.load()) {
      LogLine(absl::StrCat("signal ", sig, " during start-up: exiting"));
      _exit(128 + sig);
    }
    if (signal_ != 0) {
      // A deliberate second signal: the user wants out now.
      if (absl::Now() - first_signal_time_ >= absl::Seconds(1))
        _exit(128 + sig);
      continue;
    }
    first_signal_time_ = absl::Now();
    signal_ = sig;
    Request();
  }
}

}  // namespace knbench
