#include "knbench/worker/spin.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "knbench/worker/spin_pool.h"

namespace knbench::worker {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// Bound for "the spin ended right after its duration": one loop iteration
// normally, but a loaded shared machine may preempt the thread.
constexpr milliseconds kSlack(50);

nanoseconds ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}

TEST(SpinTest, WallSpinLastsItsDurationByTheWallClock) {
  std::atomic<bool> cancelled{false};
  const auto start = steady_clock::now();
  SpinResult result = Spin(milliseconds(30), SpinClock::kWall, cancelled);
  const auto elapsed = steady_clock::now() - start;
  EXPECT_FALSE(result.interrupted);
  EXPECT_GE(result.spun, milliseconds(30));
  EXPECT_LT(result.spun, milliseconds(30) + kSlack);
  EXPECT_GE(elapsed, result.spun);
}

TEST(SpinTest, CpuSpinConsumesItsDurationOfThreadCpuTime) {
  std::atomic<bool> cancelled{false};
  const nanoseconds cpu_before = ThreadCpu();
  SpinResult result = Spin(milliseconds(30), SpinClock::kCpu, cancelled);
  const nanoseconds cpu_used = ThreadCpu() - cpu_before;
  EXPECT_FALSE(result.interrupted);
  EXPECT_GE(result.spun, milliseconds(30));
  EXPECT_LT(result.spun, milliseconds(30) + kSlack);
  EXPECT_GE(cpu_used, milliseconds(30));
}

TEST(SpinTest, CancelFlagStopsTheSpinEarly) {
  std::atomic<bool> cancelled{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(20));
    cancelled = true;
  });
  SpinResult result =
      Spin(std::chrono::seconds(60), SpinClock::kWall, cancelled);
  canceller.join();
  EXPECT_TRUE(result.interrupted);
  EXPECT_LT(result.spun, std::chrono::seconds(30));
}

TEST(SpinTest, WallDeadlineStopsEvenACpuSpin) {
  std::atomic<bool> cancelled{false};
  SpinResult result = Spin(std::chrono::seconds(60), SpinClock::kCpu, cancelled,
                           steady_clock::now() + milliseconds(20));
  EXPECT_TRUE(result.interrupted);
  EXPECT_LT(result.spun, std::chrono::seconds(30));
}

TEST(SpinTest, ParsesClockNames) {
  EXPECT_EQ(*ParseSpinClock("wall"), SpinClock::kWall);
  EXPECT_EQ(*ParseSpinClock("cpu"), SpinClock::kCpu);
  absl::StatusOr<SpinClock> bad = ParseSpinClock("gpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("wall, cpu"), std::string::npos);
  EXPECT_EQ(SpinClockName(SpinClock::kCpu), "cpu");
}

// All tasks must be running at once: each waits for the others to start.
// A pool that queued tasks behind busy threads would time out here.
TEST(SpinPoolTest, RunsEveryTaskConcurrentlyAndReusesThreads) {
  constexpr int kTasks = 16;
  SpinPool pool;
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  int finished = 0;
  bool all_met = true;
  auto task = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    if (!cv.wait_for(lock, std::chrono::seconds(20),
                     [&] { return started % kTasks == 0; })) {
      all_met = false;
    }
    ++finished;
    cv.notify_all();
  };
  for (int i = 0; i < kTasks; ++i) pool.Run(task);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return finished == kTasks; }));
  }
  EXPECT_TRUE(all_met);
  EXPECT_EQ(pool.threads(), static_cast<size_t>(kTasks));

  // Once every thread is idle again, a second batch reuses them.
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (pool.idle_threads() < kTasks && steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(pool.idle_threads(), static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) pool.Run(task);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return finished == 2 * kTasks; }));
  }
  EXPECT_TRUE(all_met);
  EXPECT_EQ(pool.threads(), static_cast<size_t>(kTasks));
}

TEST(SpinPoolTest, ThreadsRunAtTheRequestedNiceness) {
  SpinPool pool(7);
  std::promise<int> nice;
  pool.Run([&] {
    nice.set_value(
        getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))));
  });
  auto result = nice.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
  EXPECT_EQ(result.get(), 7);
}

// After a burst the pool shrinks back: 1 085 threads (about 60 MB) used to
// stay for good after a 3 000-call burst.
TEST(SpinPoolTest, IdleThreadsExitAfterTheIdleTimeout) {
  constexpr int kTasks = 32;
  SpinPool pool(0, std::chrono::milliseconds(100));
  std::atomic<int> done{0};
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  for (int i = 0; i < kTasks; ++i) {
    pool.Run([&] {
      std::unique_lock<std::mutex> lock(mu);
      ++started;
      cv.notify_all();
      // All at once, so the burst needs a thread each.
      cv.wait_for(lock, std::chrono::seconds(20),
                  [&] { return started == kTasks; });
      ++done;
    });
  }
  const auto deadline = steady_clock::now() + std::chrono::seconds(20);
  while (done.load() < kTasks && steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(done.load(), kTasks);
  EXPECT_GE(pool.threads(), static_cast<size_t>(kTasks) - 1);
  while (pool.threads() > 0 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(pool.threads(), 0u);
  // And it still serves after shrinking.
  std::promise<void> ran;
  pool.Run([&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
}

}  // namespace
}  // namespace knbench::worker
