#include "knbench/common/clock.h"

#include <future>
#include <vector>

#include "gtest/gtest.h"
#include "knbench/testing/fake_clock.h"

namespace knbench {
namespace {

using ::knbench::testing::FakeClock;

TEST(ClockTest, RealAndSteadyAwaitReturnAtOnceWhenDecided) {
  RealClock real;
  SteadyClock steady;
  absl::Mutex mu;
  bool flag = true;
  absl::MutexLock lock(&mu);
  for (Clock* clock : std::vector<Clock*>{&real, &steady}) {
    flag = true;
    EXPECT_TRUE(clock->AwaitWithDeadline(mu, absl::Condition(&flag),
                                         absl::InfiniteFuture()));
    flag = false;
    EXPECT_FALSE(clock->AwaitWithDeadline(mu, absl::Condition(&flag),
                                          clock->Now() - absl::Seconds(1)));
  }
  const absl::Time a = steady.Now();
  EXPECT_LE(a, steady.Now());
}

// A thread that waits on the fake clock wakes when its condition holds or
// when time reaches its deadline, not before.
TEST(FakeClockTest, WaitersWakeAtTheirDeadlineOrCondition) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  const absl::Time deadline = clock.Now() + absl::Seconds(10);
  auto timed_out = std::async(std::launch::async, [&] {
    absl::MutexLock lock(&mu);
    return !clock.AwaitWithDeadline(mu, absl::Condition(&flag), deadline);
  });
  ASSERT_TRUE(clock.Settle(1));
  clock.Advance(absl::Seconds(9));
  ASSERT_TRUE(clock.Settle(1));  // still waiting
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(timed_out.get());

  auto woken = std::async(std::launch::async, [&] {
    absl::MutexLock lock(&mu);
    return clock.AwaitWithDeadline(mu, absl::Condition(&flag),
                                   absl::InfiniteFuture());
  });
  ASSERT_TRUE(clock.Settle(1));
  {
    absl::MutexLock lock(&mu);
    flag = true;
  }
  EXPECT_TRUE(woken.get());
  EXPECT_FALSE(clock.Settle(1, absl::Milliseconds(50)));  // nobody waits
}

TEST(FakeClockTest, SleepJumpsAheadAndCounts) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  clock.SleepUntil(start + absl::Seconds(5));
  clock.SleepUntil(start);  // the past: no move
  EXPECT_EQ(clock.Now(), start + absl::Seconds(5));
  EXPECT_EQ(clock.sleeps(), 2);
}

}  // namespace
}  // namespace knbench
