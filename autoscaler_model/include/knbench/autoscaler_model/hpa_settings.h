// The HPA class's settings table: every setting of HpaConfig described once
// (see setting_table.h), with Knative's annotations, kube-controller-
// manager's and metrics-server's flags, and their defaults and bounds.
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_SETTINGS_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_SETTINGS_H_

#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

const SettingTable<HpaConfig>& HpaSettings();

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_SETTINGS_H_
