#ifndef KNBENCH_AUTOSCALER_MODEL_TESTS_TEST_CONFIGS_H_
#define KNBENCH_AUTOSCALER_MODEL_TESTS_TEST_CONFIGS_H_

#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {

// Target 10 per pod at 100 % utilisation (target value 10): the round
// numbers the hand-worked expectations in the tests use.
inline KpaConfig Target10(double target_burst_capacity) {
  KpaConfig c;
  c.target = 10;
  c.target_utilization_percentage = 100;
  c.target_burst_capacity = target_burst_capacity;
  return c;
}

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_TESTS_TEST_CONFIGS_H_
