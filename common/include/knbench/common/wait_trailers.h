// The waits local_serving's router measures for a call and returns to the
// caller in its trailing metadata on every call it answers (issue 19;
// docs/local_serving.md, "Waits in trailers"): the driver records them beside
// the worker's spin, so each request's latency splits into its parts. Values
// are whole microseconds in decimal ASCII, 0 when the call did not wait there.
#ifndef KNBENCH_COMMON_WAIT_TRAILERS_H_
#define KNBENCH_COMMON_WAIT_TRAILERS_H_

#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace knbench {

// Microseconds waited in the activator's FIFO for capacity or a ready pod.
inline constexpr char kActivatorWaitTrailer[] = "knbench-activator-wait-us";
// Microseconds waited in a pod's queue-proxy queue for a containerConcurrency
// slot.
inline constexpr char kQueueWaitTrailer[] = "knbench-queue-wait-us";

// A wait as the router sends it.
inline std::string FormatWaitMicros(absl::Duration wait) {
  return absl::StrCat(absl::ToInt64Microseconds(wait));
}

// A wait as sent (decimal ASCII microseconds), or -1 when it is malformed or
// negative: a bad value is ignored, never an error.
inline int64_t ParseWaitMicros(absl::string_view value) {
  int64_t us = -1;
  if (value.empty() ||
      value.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(value, &us)) {
    return -1;  // Signs, spaces, overflow: not what the router sends.
  }
  return us;
}

}  // namespace knbench

#endif  // KNBENCH_COMMON_WAIT_TRAILERS_H_
