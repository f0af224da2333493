// libFuzzer target: the small value parsers. The first byte picks one:
// ParsePort, a port from the environment (SetPortFlagDefaultFromEnv), the
// worker's ParseSpinClock, the driver's --target (Target::Parse), and the
// driver's whole configuration (ResolveConfig) with the rest as schedule and
// drain-timeout text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "knbench/common/env.h"
#include "knbench/load_driver/config.h"
#include "knbench/worker/spin.h"

ABSL_FLAG(int32_t, fuzz_port, 1, "port flag whose default comes from env");

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] % 5;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (which) {
    case 0: {
      auto port = knbench::ParsePort(text, "--port");
      if (port.ok() && (*port < 0 || *port > 65535)) __builtin_trap();
      break;
    }
    case 1: {
      if (text.find('\0') != std::string::npos) return 0;  // not an env value
      setenv("KNBENCH_FUZZ_PORT", text.c_str(), 1);
      absl::SetFlag(&FLAGS_fuzz_port, 1);
      auto status = knbench::SetPortFlagDefaultFromEnv(&FLAGS_fuzz_port,
                                                       {"KNBENCH_FUZZ_PORT"});
      const int32_t v = absl::GetFlag(FLAGS_fuzz_port);
      if (status.ok() && !text.empty() && (v < 0 || v > 65535))
        __builtin_trap();
      break;
    }
    case 2: {
      auto clock = knbench::worker::ParseSpinClock(text);
      if (clock.ok()) (void)knbench::worker::SpinClockName(*clock);
      break;
    }
    case 3: {
      auto target = knbench::load_driver::Target::Parse(text);
      if (target.ok() && target->has_host_port()) (void)target->authority();
      break;
    }
    case 4: {
      if (absl::StrContains(text, "trace:")) return 0;  // see trace_fuzz
      knbench::load_driver::Config c;
      c.target = "127.0.0.1:1";
      const size_t bar = text.find('|');
      c.schedule_spec = text.substr(0, bar);
      if (bar != std::string::npos) c.drain_timeout_text = text.substr(bar + 1);
      c.out = "/tmp/knbench-fuzz.csv";
      if (knbench::load_driver::ResolveConfig(&c).ok()) {
        (void)knbench::load_driver::DescribeConfig(c);
      }
      break;
    }
  }
  return 0;
}
