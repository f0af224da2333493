#include "knbench/common/log.h"

#include <unistd.h>

#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace knbench {
namespace {

std::mutex& NameMutex() {
  static std::mutex mu;
  return mu;
}

std::string& ProgramName() {
  static std::string* name = new std::string("knbench");
  return *name;
}

}  // namespace

void SetLogProgramName(absl::string_view name) {
  std::lock_guard<std::mutex> lock(NameMutex());
  ProgramName() = std::string(name);
}

void LogLine(absl::string_view message) {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(NameMutex());
    line = absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                         absl::UTCTimeZone()),
                        " ", ProgramName(), ": ", message, "\n");
  }
  // One write(2) per line keeps concurrent lines whole.
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace knbench
