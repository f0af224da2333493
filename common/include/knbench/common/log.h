#ifndef KNBENCH_COMMON_LOG_H_
#define KNBENCH_COMMON_LOG_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace knbench {

// Writes one line to stderr: "<UTC time> <program>: <message>". Lines from
// concurrent threads never interleave.
void LogLine(absl::string_view message);

// Sets the program name shown in log lines (default "knbench").
void SetLogProgramName(absl::string_view name);

template <typename... Args>
void Logf(const absl::FormatSpec<Args...>& format, const Args&... args) {
  LogLine(absl::StrFormat(format, args...));
}

}  // namespace knbench

#endif  // KNBENCH_COMMON_LOG_H_
