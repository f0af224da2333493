// Pods and settings with round numbers for the HPA tests' hand-worked
// vectors: CPU request 100 m (so millicores read as percent), target 50 %,
// tolerance 0.1, initialization period 300 s, readiness delay 30 s, metric
// window 15 s.
#ifndef KNBENCH_AUTOSCALER_MODEL_TESTS_HPA_TEST_PODS_H_
#define KNBENCH_AUTOSCALER_MODEL_TESTS_HPA_TEST_PODS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_replicas.h"

namespace knbench::autoscaler_model {

inline HpaConfig Cpu50() {
  HpaConfig c;
  c.target = 50;
  c.cpu_request = 100;
  return c;
}

// Started at 0 s and ready since then: initialized by any time >= 300 s.
inline HpaPod Ready(const std::string& name, std::optional<int64_t> cpu) {
  HpaPod p;
  p.name = name;
  p.ready = true;
  p.start = absl::ZeroDuration();
  p.ready_since = absl::ZeroDuration();
  p.cpu_millicores = cpu;
  return p;
}

// A pod with the given start and Ready condition (times in seconds).
inline HpaPod Pod(const std::string& name, std::optional<int64_t> cpu,
                  bool ready, std::optional<int64_t> start_s,
                  int64_t ready_since_s) {
  HpaPod p = Ready(name, cpu);
  p.ready = ready;
  p.start.reset();
  if (start_s.has_value()) p.start = absl::Seconds(*start_s);
  p.ready_since = absl::Seconds(ready_since_s);
  return p;
}

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_TESTS_HPA_TEST_PODS_H_
