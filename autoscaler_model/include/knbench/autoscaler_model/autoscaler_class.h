// Which autoscaler scales the revision (autoscaling.knative.dev/class), as a
// setting of its own that chooses the settings table (the KPA's or the
// HPA's), and the rows those tables share: Knative reads min-scale and
// max-scale alike whatever the class.
#ifndef KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_CLASS_H_
#define KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_CLASS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

enum class AutoscalerClass { kKpa, kHpa };

// kpa, hpa: the flag's values, --check-config's "class" and messages.
absl::string_view AutoscalerClassName(AutoscalerClass c);

// The class as a one-row table: --class=kpa|hpa, or the annotation's
// kpa.autoscaling.knative.dev / hpa.autoscaling.knative.dev; default kpa.
struct ClassSetting {
  ClassSetting();
  AutoscalerClass autoscaler_class;
};
const SettingTable<ClassSetting>& ClassSettings();

// The settings of the class's table (KpaSettings() or HpaSettings()).
const std::vector<SettingSpec>& ClassSpecs(AutoscalerClass c);

// min-scale and max-scale: annotation, legacy alias, default 0 and the
// model's pod limit; each table adds its help.
SettingSpec MinScaleSpec();
SettingSpec MaxScaleSpec();
// At least `min` pods, at most as many as the model handles.
Bounds PodCountBounds(double min);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_CLASS_H_
