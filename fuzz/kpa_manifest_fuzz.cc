// libFuzzer target: the KPA model's Knative Service manifest reader and the
// annotations it applies to the model's configuration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "knbench/autoscaler_model/manifest.h"

namespace am = knbench::autoscaler_model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto settings =
      am::ParseManifest(std::string(reinterpret_cast<const char*>(data), size));
  if (!settings.ok()) return 0;
  am::KpaConfig config;
  std::vector<std::string> ignored;
  (void)am::ApplyManifest(*settings, &config, &ignored);
  return 0;
}
