// libFuzzer target: knbench::ParseFlags over flags of every type our binaries
// define (dashed names, --x=v, --x v, --nox, "--"). The input is split into
// arguments at '\n'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "knbench/common/flags.h"

ABSL_FLAG(int32_t, grpc_port, 50051, "int32 flag");
ABSL_FLAG(int64_t, max_duration_ms, 600000, "int64 flag");
ABSL_FLAG(uint64_t, seed, 1, "uint64 flag");
ABSL_FLAG(double, rps, 5, "double flag");
ABSL_FLAG(std::string, schedule, "", "string flag");
ABSL_FLAG(bool, fail_fast, false, "bool flag");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(30), "duration flag");

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> args = absl::StrSplit(text, '\n');
  auto positional = knbench::ParseFlags(args);
  if (positional.ok() && positional->size() > args.size()) __builtin_trap();
  return 0;
}
