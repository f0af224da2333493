#ifndef KNBENCH_LOAD_DRIVER_DRIVER_H_
#define KNBENCH_LOAD_DRIVER_DRIVER_H_

#include "knbench/common/shutdown.h"
#include "knbench/load_driver/config.h"

namespace knbench::load_driver {

// Exit codes of the load_driver binary.
inline constexpr int kExitOk = 0;        // run completed (failed requests too)
inline constexpr int kExitRunError = 1;  // write error, --fail-fast abort, ...
inline constexpr int kExitUsage = 2;     // bad flags, schedule or target

// One whole run of a resolved config: metrics endpoint, pacing, sending,
// recording, draining, summary, serving the results (and --linger).
// Returns the process exit code.
int RunDriver(const Config& config, ShutdownSignal& shutdown);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_DRIVER_H_
