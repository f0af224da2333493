#ifndef KNBENCH_WORKER_SPIN_POOL_H_
#define KNBENCH_WORKER_SPIN_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace knbench::worker {

// Runs each task on a thread of its own, reusing idle threads. Unlike a
// fixed pool it never queues a task behind another, so concurrent
// wall-clock spins overlap the way the original's goroutines did; the
// caller bounds concurrency (the worker's --max-inflight).
class SpinPool {
 public:
  // `nice` > 0 lowers the threads' scheduling priority (setpriority on each
  // thread) so that gRPC's I/O threads, and a driver on the same machine,
  // get the CPU first when spins saturate it.
  explicit SpinPool(int nice = 0) : nice_(nice) {}
  ~SpinPool();
  SpinPool(const SpinPool&) = delete;
  SpinPool& operator=(const SpinPool&) = delete;

  void Run(std::function<void()> task);

  // Threads created so far (idle or busy), and those idle now.
  size_t threads() const;
  size_t idle_threads() const;

 private:
  void Loop();

  const int nice_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // Guarded by mu_.
  size_t idle_ = 0;                          // Guarded by mu_.
  bool stopping_ = false;                    // Guarded by mu_.
  std::vector<std::thread> threads_;         // Guarded by mu_.
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_SPIN_POOL_H_
