// libFuzzer target: the driver's --schedule grammar, --arrivals, and the
// arrival generator over whatever schedule parses. Trace phases are left to
// trace_fuzz (here they would read arbitrary paths such as /dev/zero).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "knbench/load_driver/schedule.h"

namespace kl = knbench::load_driver;

// Walks the first arrivals of a parsed schedule and checks the invariants
// every caller relies on: seq from 1 without gaps, offsets non-decreasing
// and inside the schedule, phases in order.
void Exercise(const kl::Schedule& s) {
  if (!(s.expected() >= 1) || s.length() <= absl::ZeroDuration())
    __builtin_trap();
  (void)s.Describe();
  (void)s.RateAt(s.length() / 2);
  for (kl::Arrivals mode : {kl::Arrivals::kUniform, kl::Arrivals::kPoisson}) {
    kl::ArrivalGenerator gen(s, mode, /*seed=*/1, absl::Seconds(1));
    kl::Arrival a, prev;
    for (int i = 0; i < 2000 && gen.Next(&a); ++i) {
      if (a.seq != i + 1) __builtin_trap();
      if (a.offset < absl::ZeroDuration() || a.offset > s.length()) {
        __builtin_trap();
      }
      if (i > 0 && (a.offset < prev.offset || a.phase < prev.phase)) {
        __builtin_trap();
      }
      prev = a;
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)kl::ParseArrivals(text);
  if (absl::StrContains(text, "trace:")) return 0;
  auto schedule = kl::Schedule::Parse(text);
  if (schedule.ok()) Exercise(*schedule);
  return 0;
}
