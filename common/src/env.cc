#include "knbench/common/env.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace knbench {

std::optional<EnvValue> FirstEnv(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return EnvValue{name, value};
  }
  return std::nullopt;
}

absl::StatusOr<int> ParsePort(absl::string_view text, absl::string_view what) {
  int port = 0;
  if (!absl::SimpleAtoi(text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": '", text, "' is not a TCP port (an integer 0..65535)"));
  }
  return port;
}

absl::Status SetPortFlagDefaultFromEnv(
    absl::Flag<int32_t>* flag, std::initializer_list<const char*> names) {
  std::optional<EnvValue> env = FirstEnv(names);
  if (!env) return absl::OkStatus();
  absl::StatusOr<int> port =
      ParsePort(env->value, absl::StrCat("environment variable ", env->name));
  if (!port.ok()) return port.status();
  absl::SetFlag(flag, *port);
  return absl::OkStatus();
}

std::string InstanceName() {
  if (auto pod = FirstEnv({"POD_NAME"})) return pod->value;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') return host;
  return "unknown";
}

}  // namespace knbench
