#ifndef KNBENCH_COMMON_ENV_H_
#define KNBENCH_COMMON_ENV_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace knbench {

// A value read from the environment, with the variable it came from.
struct EnvValue {
  std::string name;
  std::string value;
};

// The first of `names` that is set to a non-empty value, in order.
std::optional<EnvValue> FirstEnv(std::initializer_list<const char*> names);

// Parses a TCP port (0..65535). Errors name `what` so the user sees which
// flag or variable was wrong.
absl::StatusOr<int> ParsePort(absl::string_view text, absl::string_view what);

// Makes the first set variable of `names` the default of a port flag. Call it
// before absl::ParseCommandLine so that a flag given explicitly still wins.
// An unparsable value is an error naming the variable.
absl::Status SetPortFlagDefaultFromEnv(
    absl::Flag<int32_t>* flag, std::initializer_list<const char*> names);

// The serving instance's name: env POD_NAME, else the hostname.
std::string InstanceName();

}  // namespace knbench

#endif  // KNBENCH_COMMON_ENV_H_
