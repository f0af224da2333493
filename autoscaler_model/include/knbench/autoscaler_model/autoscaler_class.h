// What the autoscaler classes' settings tables share: Knative reads
// min-scale and max-scale alike whatever the class.
#ifndef KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_CLASS_H_
#define KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_CLASS_H_

#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

// min-scale and max-scale: annotation, legacy alias, default 0 and the
// model's pod limit; each table adds its help.
SettingSpec MinScaleSpec();
SettingSpec MaxScaleSpec();
// At least `min` pods, at most as many as the model handles.
Bounds PodCountBounds(double min);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_AUTOSCALER_CLASS_H_
