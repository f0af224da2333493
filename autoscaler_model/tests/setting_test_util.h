// Checks every settings table's test makes the same way: rows by name, each
// default read back from its printed form, each bound with its message, and
// manifests of annotations.
#ifndef KNBENCH_AUTOSCALER_MODEL_TESTS_SETTING_TEST_UTIL_H_
#define KNBENCH_AUTOSCALER_MODEL_TESTS_SETTING_TEST_UTIL_H_

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "knbench/autoscaler_model/manifest.h"
#include "knbench/autoscaler_model/setting_table.h"

namespace knbench::autoscaler_model {

inline size_t IndexOf(const std::vector<SettingSpec>& specs,
                      const std::string& name) {
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name == name) return i;
  }
  ADD_FAILURE() << "no setting " << name;
  return 0;
}

inline void ExpectDefaultsReadBack(const std::vector<SettingSpec>& specs) {
  for (const SettingSpec& spec : specs) {
    if (std::holds_alternative<std::monostate>(spec.default_value)) {
      // An unset default is what its flag's "unset" value gives.
      ASSERT_NE(spec.flag_unset, nullptr) << spec.name;
      EXPECT_EQ(DefaultText(spec), spec.flag_unset);
      auto unset = ParseFlagText(spec, DefaultText(spec));
      ASSERT_TRUE(unset.ok()) << spec.name;
      EXPECT_TRUE(std::holds_alternative<std::monostate>(*unset));
      continue;
    }
    const std::string text = SettingText(spec.default_value);
    auto parsed = ParseSettingText(spec, text);
    ASSERT_TRUE(parsed.ok()) << spec.name << " " << text;
    EXPECT_EQ(*parsed, spec.default_value) << spec.name << " " << text;
  }
}

// One setting set to `value`, the others at their defaults.
struct BoundCase {
  const char* setting;
  SettingValue value;
  std::string error;  // "" = valid
};

inline void ExpectBounds(const std::vector<SettingSpec>& specs,
                         const std::vector<BoundCase>& cases) {
  for (const BoundCase& c : cases) {
    std::vector<SettingValue> values = Defaults(specs).values;
    values[IndexOf(specs, c.setting)] = c.value;
    const absl::Status st = CheckBounds(specs, values);
    EXPECT_EQ(std::string(st.message()), c.error)
        << c.setting << "=" << SettingText(c.value);
  }
}

// autoscaling.knative.dev/<key> annotations.
inline ManifestSettings Manifest(
    const std::map<std::string, std::string>& annotations) {
  ManifestSettings m;
  for (const auto& [key, value] : annotations) {
    m.annotations[std::string(kAnnotationPrefix) + key] = value;
  }
  return m;
}

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_TESTS_SETTING_TEST_UTIL_H_
