#ifndef KNBENCH_WORKER_SPIN_POOL_H_
#define KNBENCH_WORKER_SPIN_POOL_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>

namespace knbench::worker {

// How long a spin thread waits for another task before it exits.
inline constexpr std::chrono::milliseconds kSpinThreadIdleTimeout{30000};
// The worker's pool uses this default: idle threads must go within minutes,
// not stay for the life of a pod (a build with a longer one fails here).
static_assert(kSpinThreadIdleTimeout > std::chrono::milliseconds(0) &&
              kSpinThreadIdleTimeout <= std::chrono::minutes(5));

// Runs each task on a thread of its own, reusing idle threads. Unlike a
// fixed pool it never queues a task behind another, so concurrent
// wall-clock spins overlap the way the original's goroutines did; the
// caller bounds concurrency (the worker's --max-inflight). A thread idle for
// `idle_timeout` exits, so a burst leaves no threads (and stacks) behind.
class SpinPool {
 public:
  // `nice` > 0 lowers the threads' scheduling priority (setpriority on each
  // thread) so that gRPC's I/O threads, and a driver on the same machine,
  // get the CPU first when spins saturate it.
  explicit SpinPool(int nice = 0, std::chrono::milliseconds idle_timeout =
                                      kSpinThreadIdleTimeout);
  // Waits for the tasks queued or running to finish.
  ~SpinPool();
  SpinPool(const SpinPool&) = delete;
  SpinPool& operator=(const SpinPool&) = delete;

  void Run(std::function<void()> task);

  // Threads alive now (idle or busy), and those idle now.
  size_t threads() const;
  size_t idle_threads() const;

 private:
  struct State;
  static void Loop(std::shared_ptr<State> state);

  // Shared with the threads, which are detached: an exiting thread may
  // still touch the lock after the destructor has seen it leave.
  std::shared_ptr<State> state_;
};

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_SPIN_POOL_H_
