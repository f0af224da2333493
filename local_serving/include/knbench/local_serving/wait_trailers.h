// The router's measured waits, returned to the caller as gRPC trailing
// metadata on every call it answers (issue 19): the contract the load
// driver reads into its CSV (docs/local_serving.md, "Waits in trailers").
// Values are whole microseconds in decimal ASCII, 0 when the call did not
// wait there.
#ifndef KNBENCH_LOCAL_SERVING_WAIT_TRAILERS_H_
#define KNBENCH_LOCAL_SERVING_WAIT_TRAILERS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace knbench::local_serving {

// Time the call waited in the activator's FIFO for capacity or a ready pod.
inline constexpr char kActivatorWaitKey[] = "knbench-activator-wait-us";
// Time it waited in a pod's queue-proxy queue for a containerConcurrency
// slot.
inline constexpr char kQueueWaitKey[] = "knbench-queue-wait-us";

// A wait as its trailer's value.
inline std::string WaitTrailerValue(absl::Duration wait) {
  return absl::StrCat(absl::ToInt64Microseconds(wait));
}

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_WAIT_TRAILERS_H_
