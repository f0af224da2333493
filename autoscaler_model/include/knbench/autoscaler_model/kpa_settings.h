// The KPA's settings table: every setting of KpaConfig described once (see
// setting_table.h), with Knative's keys, defaults and bounds.
#ifndef KNBENCH_AUTOSCALER_MODEL_KPA_SETTINGS_H_
#define KNBENCH_AUTOSCALER_MODEL_KPA_SETTINGS_H_

#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

const SettingTable<KpaConfig>& KpaSettings();

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_KPA_SETTINGS_H_
