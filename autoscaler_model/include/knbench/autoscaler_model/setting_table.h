// Each autoscaling setting described once. A table holds, per setting, its
// name (the flag is the name with dashes), where Knative reads it
// (annotation with legacy aliases, config-autoscaler key or revision spec
// field), type, default, bounds and help, and how it maps into the config
// struct. Flags (settings_flags.h), the manifest reader (manifest.h),
// validation, --help and the --check-config report all come from it, the
// way Knative's pkg/autoscaler/config reads each ConfigMap key in one line.
//
// To add a setting: add its field to the config struct and one row to the
// table (kpa_settings.cc): Field(spec, &Config::member), or EnumField for
// an enum. Nothing else lists settings; rules that tie several settings
// together (max-scale >= min-scale) stay code beside the table.
//
// A table per autoscaler class (autoscaler_class.h chooses one): the KPA's
// (kpa_settings.cc) and the HPA's (hpa_settings.cc). To add one: a config
// struct whose default constructor applies the table's defaults
// (ApplyDefaults), a `const SettingTable<Config>& ...Settings()` built from
// rows like kpa_settings.cc's, and its cross-setting rules (checked after
// CheckBounds). Its specs give the manifest reading (ReadManifest), and,
// joined with the other tables', the flags (SettingFlags,
// settings_flags.h): a name several tables have (metric, target, window,
// min-scale, max-scale) is one flag, whose text each table reads with its
// own type, values and bounds.
#ifndef KNBENCH_AUTOSCALER_MODEL_SETTING_TABLE_H_
#define KNBENCH_AUTOSCALER_MODEL_SETTING_TABLE_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace knbench::autoscaler_model {

enum class SettingType { kDouble, kInt32, kInt64, kBool, kDuration, kEnum };

// A setting's value; monostate is "unset" (only for a setting whose default
// is unset, such as target).
using SettingValue = std::variant<std::monostate, double, int64_t, bool,
                                  absl::Duration, std::string>;

// Every autoscaling annotation's key starts with it.
inline constexpr absl::string_view kAnnotationPrefix =
    "autoscaling.knative.dev/";

// Where Knative (or the Kubernetes component it hands over to) reads the
// setting.
enum class KnativeSource {
  kAnnotation,    // autoscaling.knative.dev/<key> on the revision template
  kConfigMap,     // config-autoscaler's <key> (flags only here)
  kRevisionSpec,  // spec.template.spec.<key>
  // spec.template.spec.containers[0].resources.<origin> ("requests.cpu"), as
  // ParseManifest reads it into ContainerResources (millicores, bytes).
  kContainerResource,
  // A flag of the same name of another program (kube-controller-manager,
  // metrics-server), the setting's origin; flags only here.
  kComponentFlag,
  kNone,  // not a Knative key (flags only)
};

// Valid values. Numbers and durations (in seconds) alike; NaN and infinities
// are never valid, whatever the bounds.
struct Bounds {
  std::optional<double> min;
  bool min_exclusive = false;
  std::optional<double> max;
  bool max_exclusive = false;
  const char* max_why = nullptr;       // said after "at most <max>"
  std::optional<double> also_allowed;  // one more valid value (-1)
  // Durations kept in whole units: seconds (Knative's), milliseconds.
  std::optional<absl::Duration> whole;

  static Bounds In(double min, double max);
  static Bounds AtLeast(double min);
  static Bounds GreaterThan(double min);
  // [min, max): "in [0, 1)".
  static Bounds InHalfOpen(double min, double max);
  Bounds AtMost(double max, const char* why) &&;
  Bounds Or(double also) &&;
  Bounds WholeSeconds() &&;
  Bounds WholeMilliseconds() &&;
};

struct SettingSpec {
  const char* name = nullptr;  // underscored: min_scale is --min-scale
  SettingType type = SettingType::kDouble;
  KnativeSource source = KnativeSource::kNone;
  const char* key = nullptr;         // Knative's key, which messages name
  std::vector<const char*> aliases;  // legacy annotation keys (minScale)
  // kContainerResource: the resource ("requests.cpu"); kComponentFlag: the
  // program whose flag it is ("kube-controller-manager").
  const char* origin = nullptr;
  SettingValue default_value;
  Bounds bounds;
  const char* help = "";
  // An optional setting: the flag value that unsets it ("0" for target).
  const char* flag_unset = nullptr;
  // kEnum: the accepted values, and other spellings of them.
  std::vector<std::string> values;
  std::vector<std::pair<const char*, const char*>> value_aliases;

  // Builders, so that a row of a table reads as what it says.
  static SettingSpec Of(SettingType type, const char* name);
  SettingSpec Annotation(const char* key,
                         std::vector<const char*> aliases = {}) &&;
  SettingSpec ConfigMap(const char* key) &&;
  SettingSpec RevisionSpec(const char* key) &&;
  SettingSpec ContainerResource(const char* resource) &&;
  SettingSpec ComponentFlag(const char* program) &&;
  // One per type, so that "text" is not taken for a bool, nor 0 for null.
  SettingSpec Default(double value) &&;
  SettingSpec Default(int64_t value) &&;
  SettingSpec Default(bool value) &&;
  SettingSpec Default(absl::Duration value) &&;
  SettingSpec Default(const char* value) &&;
  SettingSpec Within(Bounds bounds) &&;
  SettingSpec Help(const char* help) &&;
  SettingSpec UnsetBy(const char* flag_value) &&;
  SettingSpec ValueAlias(const char* alias, const char* value) &&;
};

// The setting's dashed flag name and the key messages name it by.
std::string FlagName(const SettingSpec& spec);
std::string KeyName(const SettingSpec& spec);

// Reads text of the setting's type (an enum alias gives its value). The
// error says why ("not a number"); the caller names the flag or annotation.
absl::StatusOr<SettingValue> ParseSettingText(const SettingSpec& spec,
                                              absl::string_view text);
// ParseSettingText, but the flag_unset value unsets an optional setting.
absl::StatusOr<SettingValue> ParseFlagText(const SettingSpec& spec,
                                           absl::string_view text);

// The text ParseSettingText reads back: "70", "0.01", "1m30s", "true",
// "concurrency"; "" when unset.
std::string SettingText(const SettingValue& value);

// "" when `value` is within bounds, else why not ("must be in [1, 100]").
std::string BoundsError(const SettingSpec& spec, const SettingValue& value);

// --help for the setting: where Knative reads it (SettingOrigin), then
// what it is (SettingAbout: its help, values and bounds).
std::string SettingHelp(const SettingSpec& spec);
std::string SettingOrigin(const SettingSpec& spec);
std::string SettingAbout(const SettingSpec& spec);
// The default as --help shows it.
std::string DefaultText(const SettingSpec& spec);

// Every setting within its bounds; the error is "<key>: must be ...".
absl::Status CheckBounds(const std::vector<SettingSpec>& specs,
                         const std::vector<SettingValue>& values);

enum class SettingSource { kDefault, kManifest, kFlag };
absl::string_view SourceName(SettingSource source);

// One value per setting of a table (same order), and where it came from.
struct ResolvedSettings {
  std::vector<SettingValue> values;
  std::vector<SettingSource> sources;
};
ResolvedSettings Defaults(const std::vector<SettingSpec>& specs);

// A table over config struct `Config`: the specs, and for each how it is
// read from and written into the struct.
template <typename Config>
struct Setting {
  SettingSpec spec;
  std::function<SettingValue(const Config&)> get;
  std::function<void(const SettingValue&, Config*)> set;
};

template <typename Config>
class SettingTable {
 public:
  explicit SettingTable(std::vector<Setting<Config>> rows)
      : rows_(std::move(rows)) {
    for (const Setting<Config>& row : rows_) specs_.push_back(row.spec);
  }
  const std::vector<SettingSpec>& specs() const { return specs_; }
  std::vector<SettingValue> Read(const Config& config) const {
    std::vector<SettingValue> values;
    for (const Setting<Config>& row : rows_) values.push_back(row.get(config));
    return values;
  }
  // `values` are of the rows' types (as ParseSettingText gives them).
  void Write(const std::vector<SettingValue>& values, Config* config) const {
    for (size_t i = 0; i < rows_.size(); ++i) rows_[i].set(values[i], config);
  }
  void ApplyDefaults(Config* config) const {
    Write(Defaults(specs_).values, config);
  }

 private:
  std::vector<Setting<Config>> rows_;
  std::vector<SettingSpec> specs_;
};

// A table's rows given in groups, in order.
template <typename Config>
std::vector<Setting<Config>> JoinRows(
    std::initializer_list<std::vector<Setting<Config>>> groups) {
  std::vector<Setting<Config>> rows;
  for (const std::vector<Setting<Config>>& group : groups) {
    rows.insert(rows.end(), group.begin(), group.end());
  }
  return rows;
}

namespace setting_internal {

template <typename T>
struct IsOptional : std::false_type {};
template <typename U>
struct IsOptional<std::optional<U>> : std::true_type {};

// A member's value as a SettingValue (int32_t as int64_t, nullopt as
// monostate), and back.
template <typename T>
SettingValue ToValue(const T& v) {
  if constexpr (IsOptional<T>::value) {
    return v.has_value() ? ToValue(*v) : SettingValue();
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return static_cast<int64_t>(v);
  } else {
    return SettingValue(v);
  }
}

template <typename T>
void FromValue(const SettingValue& value, T* out) {
  if constexpr (IsOptional<T>::value) {
    if (std::holds_alternative<std::monostate>(value)) {
      out->reset();
    } else {
      typename T::value_type inner{};
      FromValue(value, &inner);
      *out = inner;
    }
  } else if constexpr (std::is_same_v<T, int32_t>) {
    *out = static_cast<int32_t>(std::get<int64_t>(value));
  } else {
    *out = std::get<T>(value);
  }
}

}  // namespace setting_internal

// A row for a plain member: double, int32_t, int64_t, bool, absl::Duration,
// or std::optional of one of them (unset as monostate).
template <typename Config, typename T>
Setting<Config> Field(SettingSpec spec, T Config::*member) {
  return {std::move(spec),
          [member](const Config& c) {
            return setting_internal::ToValue(c.*member);
          },
          [member](const SettingValue& value, Config* c) {
            setting_internal::FromValue(value, &(c->*member));
          }};
}

// A row for an enum member: `all` its values, `name` their spellings (which
// become the spec's values).
template <typename Config, typename E>
Setting<Config> EnumField(SettingSpec spec, E Config::*member,
                          std::vector<E> all, absl::string_view (*name)(E)) {
  for (E e : all) spec.values.emplace_back(name(e));
  return {std::move(spec),
          [member, name](const Config& c) -> SettingValue {
            return std::string(name(c.*member));
          },
          [member, name, all](const SettingValue& value, Config* c) {
            for (E e : all) {
              if (name(e) == std::get<std::string>(value)) c->*member = e;
            }
          }};
}

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_SETTING_TABLE_H_
