#ifndef KNBENCH_COMMON_BINARY_H_
#define KNBENCH_COMMON_BINARY_H_

#include "absl/strings/string_view.h"

namespace knbench {

// Process-wide settings each binary applies first thing in main(), right
// after constructing its ShutdownSignal: the program name in log lines, and
// absl::Mutex deadlock detection off. Debian's abseil is built without
// NDEBUG, so every absl::Mutex (gRPC takes several per call) would otherwise
// maintain a lock graph: a measurable cost per request.
void InitBinary(absl::string_view program_name);

}  // namespace knbench

#endif  // KNBENCH_COMMON_BINARY_H_
