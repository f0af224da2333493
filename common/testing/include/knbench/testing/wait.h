#ifndef KNBENCH_TESTING_WAIT_H_
#define KNBENCH_TESTING_WAIT_H_

#include <functional>

#include "absl/time/time.h"

namespace knbench::testing {

// Polls `condition` every `poll` until it holds or `timeout` passes; true if
// it held. Tests wait on conditions this way, never on a fixed sleep.
bool WaitUntil(const std::function<bool()>& condition,
               absl::Duration timeout = absl::Seconds(20),
               absl::Duration poll = absl::Milliseconds(1));

}  // namespace knbench::testing

#endif  // KNBENCH_TESTING_WAIT_H_
