#include "knbench/common/shutdown.h"

#include <signal.h>

#include "gtest/gtest.h"

namespace knbench {
namespace {

TEST(ShutdownSignalTest, RequestWakesWaiters) {
  ShutdownSignal shutdown;
  EXPECT_FALSE(shutdown.requested());
  EXPECT_FALSE(shutdown.WaitFor(absl::Milliseconds(10)));
  shutdown.Request();
  EXPECT_TRUE(shutdown.WaitFor(absl::Seconds(5)));
  EXPECT_EQ(shutdown.signal_number(), 0);
}

TEST(ShutdownSignalTest, SigtermIsTurnedIntoAnEvent) {
  ShutdownSignal shutdown;
  // kill() to the process: the signal is blocked in every thread and
  // delivered to the sigwait loop, not to a default handler.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  ASSERT_TRUE(shutdown.WaitFor(absl::Seconds(10)));
  EXPECT_EQ(shutdown.signal_number(), SIGTERM);
}

}  // namespace
}  // namespace knbench
