#ifndef KNBENCH_WORKER_LIVE_CALLS_H_
#define KNBENCH_WORKER_LIVE_CALLS_H_

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace knbench::worker {

// Calls that arrived and that gRPC has not finished with. A completion
// queue may only shut down once none is left: a spin still running would
// answer on it. Counting costs one atomic add per call; only a Leave that
// empties the count while someone waits takes the lock.
class LiveCalls {
 public:
  void Enter() { count_.fetch_add(1); }
  void Leave() {
    if (count_.fetch_sub(1) == 1 && waiting_.load()) {
      std::lock_guard<std::mutex> lock(mu_);
      none_.notify_all();
    }
  }
  int count() const { return count_.load(); }
  // Blocks until none is left.
  void WaitNone() {
    // Sequentially consistent with Leave's decrement then load: either
    // Leave sees the waiter, or the waiter sees the count at 0.
    waiting_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    none_.wait(lock, [this] { return count_.load() == 0; });
  }

 private:
  std::atomic<int> count_{0};
  std::atomic<bool> waiting_{false};
  std::mutex mu_;
  std::condition_variable none_;
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_LIVE_CALLS_H_
