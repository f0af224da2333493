// libFuzzer target: the KPA model's input reader (driver CSV or plain
// per-second series) and the series it derives for each metric.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "knbench/autoscaler_model/input.h"

namespace am = knbench::autoscaler_model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto input = am::ReadInput(in);
  if (!input.ok()) return 0;
  (void)am::SeriesFor(*input, am::Metric::kConcurrency);
  (void)am::SeriesFor(*input, am::Metric::kRps);
  return 0;
}
