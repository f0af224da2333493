#include "knbench/autoscaler_model/autoscaler_class.h"

#include "knbench/autoscaler_model/config.h"

namespace knbench::autoscaler_model {

Bounds PodCountBounds(double min) {
  return Bounds::AtLeast(min).AtMost(kMaxPodCount, "(the model's pod limit)");
}

SettingSpec MinScaleSpec() {
  return SettingSpec::Of(SettingType::kInt32, "min_scale")
      .Annotation("min-scale", {"minScale"})
      .Default(int64_t{0})
      .Within(PodCountBounds(0));
}

SettingSpec MaxScaleSpec() {
  return SettingSpec::Of(SettingType::kInt32, "max_scale")
      .Annotation("max-scale", {"maxScale"})
      .Default(int64_t{0})
      .Within(PodCountBounds(0));
}

}  // namespace knbench::autoscaler_model
