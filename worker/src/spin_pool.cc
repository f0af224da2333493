#include "knbench/worker/spin_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace knbench::worker {

struct SpinPool::State {
  State(int nice, std::chrono::milliseconds idle_timeout)
      : nice(nice), idle_timeout(idle_timeout) {}

  const int nice;
  const std::chrono::milliseconds idle_timeout;
  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable exited;
  std::deque<std::function<void()>> tasks;  // Guarded by mu.
  size_t live = 0;                          // Guarded by mu.
  size_t idle = 0;                          // Guarded by mu.
  bool stopping = false;                    // Guarded by mu.
};

SpinPool::SpinPool(int nice, std::chrono::milliseconds idle_timeout)
    : state_(std::make_shared<State>(nice, idle_timeout)) {}

SpinPool::~SpinPool() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->stopping = true;
  state_->wake.notify_all();
  state_->exited.wait(lock, [this] { return state_->live == 0; });
}

void SpinPool::Run(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->tasks.push_back(std::move(task));
  // Every queued task needs an idle thread of its own; start one if the
  // idle threads are already spoken for.
  if (state_->tasks.size() > state_->idle) {
    ++state_->live;
    std::thread([state = state_] { Loop(state); }).detach();
  } else {
    state_->wake.notify_one();
  }
}

size_t SpinPool::threads() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->live;
}

size_t SpinPool::idle_threads() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->idle;
}

void SpinPool::Loop(std::shared_ptr<State> state) {
  if (state->nice != 0) {
    // Linux applies PRIO_PROCESS with a thread id to that thread alone.
    // Failure (a lower nice needs privilege) only leaves the default.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)),
                state->nice);
  }
  std::unique_lock<std::mutex> lock(state->mu);
  while (true) {
    if (!state->tasks.empty()) {
      std::function<void()> task = std::move(state->tasks.front());
      state->tasks.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // Its captures go before the lock is taken again.
      lock.lock();
      continue;
    }
    if (state->stopping) break;
    ++state->idle;
    const bool woken = state->wake.wait_for(lock, state->idle_timeout, [&] {
      return state->stopping || !state->tasks.empty();
    });
    --state->idle;
    if (!woken) break;  // Idle too long, and no task is waiting.
  }
  if (--state->live == 0) state->exited.notify_all();
}

}  // namespace knbench::worker
