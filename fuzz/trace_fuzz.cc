// libFuzzer target: the driver's trace-file reader (trace:PATH[@HOLD]). The
// input is written to a scratch file, then parsed as a trace with each hold.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "knbench/load_driver/schedule.h"

namespace kl = knbench::load_driver;

namespace {

const std::string& ScratchPath() {
  static const std::string path = [] {
    char name[] = "/tmp/knbench-trace-fuzz-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ScratchPath();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  for (const char* hold : {"", "@1s", "@1m", "@250ms"}) {
    auto s = kl::Schedule::Parse("trace:" + path + hold);
    if (!s.ok()) continue;
    if (!(s->expected() >= 1)) __builtin_trap();
    kl::ArrivalGenerator gen(*s, kl::Arrivals::kUniform, 1,
                             absl::ZeroDuration());
    kl::Arrival a;
    for (int i = 0; i < 500 && gen.Next(&a); ++i) {
      if (a.offset > s->length()) __builtin_trap();
    }
  }
  return 0;
}
