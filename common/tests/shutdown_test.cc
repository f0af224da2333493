#include "knbench/common/shutdown.h"

#include <signal.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "knbench/testing/wait.h"

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
  shutdown.EnableGracefulStop();
  // kill() to the process: the signal is blocked in every thread and
  // delivered to the sigwait loop, not to a default handler.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  ASSERT_TRUE(shutdown.WaitFor(absl::Seconds(10)));
  EXPECT_EQ(shutdown.signal_number(), SIGTERM);
}

// A Ctrl-C that reaches the whole process group and a supervisor's SIGTERM
// right after must not turn a graceful stop into an abrupt exit. Were the
// second signal fatal, this test process would exit with 143.
TEST(ShutdownSignalTest, SignalsInOneBurstCountAsOne) {
  ShutdownSignal shutdown;
  shutdown.EnableGracefulStop();
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  ASSERT_TRUE(shutdown.WaitFor(absl::Seconds(10)));
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  knbench::testing::WaitUntil([&] { return shutdown.signals_received() >= 2; });
  EXPECT_EQ(shutdown.signals_received(), 2);  // Taken, and we are still here.
  EXPECT_EQ(shutdown.signal_number(), SIGINT);
}

// Before the program is ready to drain, the first signal ends it: a start-up
// that blocks (a trace read from a pipe, a slow resolver) must not swallow
// the one SIGTERM a supervisor sends.
TEST(ShutdownSignalDeathTest, FirstSignalDuringStartUpExitsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (int sig : {SIGTERM, SIGINT}) {
    EXPECT_EXIT(
        {
          ShutdownSignal shutdown;
          kill(getpid(), sig);
          // Start-up that never looks at the signal: blocks until killed.
          while (true) pause();
        },
        ::testing::ExitedWithCode(128 + sig), "during start-up");
  }
}

}  // namespace
}  // namespace knbench
