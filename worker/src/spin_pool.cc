#include "knbench/worker/spin_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace knbench::worker {

SpinPool::~SpinPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

void SpinPool::Run(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(std::move(task));
  // Every queued task needs an idle thread of its own; start one if the
  // idle threads are already spoken for.
  if (tasks_.size() > idle_) {
    threads_.emplace_back([this] { Loop(); });
  } else {
    wake_.notify_one();
  }
}

size_t SpinPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

size_t SpinPool::idle_threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_;
}

void SpinPool::Loop() {
  if (nice_ != 0) {
    // Linux applies PRIO_PROCESS with a thread id to that thread alone.
    // Failure (a lower nice needs privilege) only leaves the default.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice_);
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (stopping_) return;
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
  }
}

}  // namespace knbench::worker
