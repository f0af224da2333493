#include "knbench/autoscaler_model/autoscaler_class.h"

#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/hpa_settings.h"
#include "knbench/autoscaler_model/kpa_settings.h"

namespace knbench::autoscaler_model {

absl::string_view AutoscalerClassName(AutoscalerClass c) {
  return c == AutoscalerClass::kHpa ? "hpa" : "kpa";
}

const SettingTable<ClassSetting>& ClassSettings() {
  static const auto* table = new SettingTable<ClassSetting>({EnumField(
      SettingSpec::Of(SettingType::kEnum, "class")
          .Annotation("class")
          .Default("kpa")
          .ValueAlias("kpa.autoscaling.knative.dev", "kpa")
          .ValueAlias("hpa.autoscaling.knative.dev", "hpa")
          .Help("the autoscaler: Knative's KPA, or a Kubernetes "
                "HorizontalPodAutoscaler (CPU or memory, never below one "
                "pod). Flags marked [kpa] or [hpa] are that class's "
                "settings."),
      &ClassSetting::autoscaler_class,
      {AutoscalerClass::kKpa, AutoscalerClass::kHpa}, AutoscalerClassName)});
  return *table;
}

ClassSetting::ClassSetting() { ClassSettings().ApplyDefaults(this); }

const std::vector<SettingSpec>& ClassSpecs(AutoscalerClass c) {
  return c == AutoscalerClass::kHpa ? HpaSettings().specs()
                                    : KpaSettings().specs();
}

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
