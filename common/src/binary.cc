#include "knbench/common/binary.h"

#include "absl/synchronization/mutex.h"
#include "knbench/common/log.h"

namespace knbench {

void InitBinary(absl::string_view program_name) {
  SetLogProgramName(program_name);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace knbench
