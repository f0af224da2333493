#include "knbench/autoscaler_model/setting_table.h"

#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace knbench::autoscaler_model {
namespace {

bool IsDuration(const SettingSpec& spec) {
  return spec.type == SettingType::kDuration;
}

// A bound as messages show it: "0.01", "1000", or "6s", "1h" for durations
// ("0s", not absl's "0", for zero).
std::string BoundText(const SettingSpec& spec, double bound) {
  if (!IsDuration(spec)) return SettingText(bound);
  if (bound == 0) return "0s";
  return absl::FormatDuration(absl::Seconds(bound));
}

// The number to compare with the bounds; nothing for other types.
std::optional<double> Magnitude(const SettingValue& value) {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* i = std::get_if<int64_t>(&value)) {
    return static_cast<double>(*i);
  }
  if (const auto* t = std::get_if<absl::Duration>(&value)) {
    return absl::ToDoubleSeconds(*t);
  }
  return std::nullopt;
}

// What the bounds demand, after "must be ": "in [1, 100]", "greater than
// 1", "-1 or at least 0", "whole seconds between 6s and 1h".
std::string Requirement(const SettingSpec& spec) {
  const Bounds& b = spec.bounds;
  std::string min, max;
  if (b.min) {
    min = absl::StrCat(b.min_exclusive ? "greater than " : "at least ",
                       BoundText(spec, *b.min));
  }
  if (b.max) {
    max = absl::StrCat(b.max_exclusive ? "less than " : "at most ",
                       BoundText(spec, *b.max), b.max_why != nullptr ? " " : "",
                       b.max_why != nullptr ? b.max_why : "");
  }
  if (b.also_allowed) {
    min = absl::StrCat(BoundText(spec, *b.also_allowed), " or ", min);
  }
  if (IsDuration(spec)) {
    const std::string whole = !b.whole ? ""
                              : *b.whole == absl::Seconds(1)
                                  ? "whole seconds"
                                  : "whole milliseconds";
    if (b.min && b.max) {
      return absl::StrCat(whole, whole.empty() ? "" : " ", "between ",
                          BoundText(spec, *b.min), " and ",
                          BoundText(spec, *b.max));
    }
    return absl::StrCat(whole, whole.empty() || min.empty() ? "" : ", ", min);
  }
  if (b.min && b.max && b.max_why == nullptr && !b.min_exclusive &&
      !b.also_allowed) {
    return absl::StrCat("in [", BoundText(spec, *b.min), ", ",
                        BoundText(spec, *b.max), b.max_exclusive ? ")" : "]");
  }
  return absl::StrCat(min, !min.empty() && !max.empty() ? " and " : "", max);
}

bool HasBounds(const SettingSpec& spec) {
  return spec.bounds.min || spec.bounds.max || spec.bounds.whole;
}

}  // namespace

// Where Knative reads the setting, for --help.
std::string SettingOrigin(const SettingSpec& spec) {
  switch (spec.source) {
    case KnativeSource::kAnnotation: {
      std::string text = absl::StrCat(kAnnotationPrefix, spec.key);
      if (!spec.aliases.empty()) {
        absl::StrAppend(&text, " (also ", absl::StrJoin(spec.aliases, ", "),
                        ")");
      }
      return text;
    }
    case KnativeSource::kConfigMap:
      return absl::StrCat("config-autoscaler ", spec.key);
    case KnativeSource::kRevisionSpec:
      return absl::StrCat("spec.template.spec.", spec.key);
    case KnativeSource::kContainerResource:
      return absl::StrCat("spec.template.spec.containers[0].resources.",
                          spec.origin);
    case KnativeSource::kComponentFlag:
      return absl::StrCat(spec.origin, " --", FlagName(spec));
    case KnativeSource::kNone:
      break;
  }
  return "";
}

namespace {

absl::StatusOr<SettingValue> ParseEnum(const SettingSpec& spec,
                                       absl::string_view text) {
  for (const auto& [alias, value] : spec.value_aliases) {
    if (text == alias) return SettingValue(std::string(value));
  }
  for (const std::string& value : spec.values) {
    if (text == value) return SettingValue(value);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("must be ", absl::StrJoin(spec.values, " or ")));
}

}  // namespace

Bounds Bounds::In(double min, double max) {
  Bounds b;
  b.min = min;
  b.max = max;
  return b;
}

Bounds Bounds::AtLeast(double min) {
  Bounds b;
  b.min = min;
  return b;
}

Bounds Bounds::GreaterThan(double min) {
  Bounds b = AtLeast(min);
  b.min_exclusive = true;
  return b;
}

Bounds Bounds::InHalfOpen(double min, double max) {
  Bounds b = In(min, max);
  b.max_exclusive = true;
  return b;
}

Bounds Bounds::AtMost(double max, const char* why) && {
  this->max = max;
  max_why = why;
  return std::move(*this);
}

Bounds Bounds::Or(double also) && {
  also_allowed = also;
  return std::move(*this);
}

Bounds Bounds::WholeSeconds() && {
  whole = absl::Seconds(1);
  return std::move(*this);
}

Bounds Bounds::WholeMilliseconds() && {
  whole = absl::Milliseconds(1);
  return std::move(*this);
}

SettingSpec SettingSpec::Of(SettingType type, const char* name) {
  SettingSpec spec;
  spec.type = type;
  spec.name = name;
  return spec;
}

SettingSpec SettingSpec::Annotation(const char* key,
                                    std::vector<const char*> aliases) && {
  source = KnativeSource::kAnnotation;
  this->key = key;
  this->aliases = std::move(aliases);
  return std::move(*this);
}

SettingSpec SettingSpec::ConfigMap(const char* key) && {
  source = KnativeSource::kConfigMap;
  this->key = key;
  return std::move(*this);
}

SettingSpec SettingSpec::RevisionSpec(const char* key) && {
  source = KnativeSource::kRevisionSpec;
  this->key = key;
  return std::move(*this);
}

SettingSpec SettingSpec::ContainerResource(const char* resource) && {
  source = KnativeSource::kContainerResource;
  origin = resource;
  return std::move(*this);
}

SettingSpec SettingSpec::ComponentFlag(const char* program) && {
  source = KnativeSource::kComponentFlag;
  origin = program;
  return std::move(*this);
}

SettingSpec SettingSpec::Default(double value) && {
  default_value = value;
  return std::move(*this);
}

SettingSpec SettingSpec::Default(int64_t value) && {
  default_value = value;
  return std::move(*this);
}

SettingSpec SettingSpec::Default(bool value) && {
  default_value = value;
  return std::move(*this);
}

SettingSpec SettingSpec::Default(absl::Duration value) && {
  default_value = value;
  return std::move(*this);
}

SettingSpec SettingSpec::Default(const char* value) && {
  default_value = std::string(value);
  return std::move(*this);
}

SettingSpec SettingSpec::Within(Bounds bounds) && {
  this->bounds = std::move(bounds);
  return std::move(*this);
}

SettingSpec SettingSpec::Help(const char* help) && {
  this->help = help;
  return std::move(*this);
}

SettingSpec SettingSpec::UnsetBy(const char* flag_value) && {
  flag_unset = flag_value;
  return std::move(*this);
}

SettingSpec SettingSpec::ValueAlias(const char* alias, const char* value) && {
  value_aliases.emplace_back(alias, value);
  return std::move(*this);
}

std::string FlagName(const SettingSpec& spec) {
  return absl::StrReplaceAll(spec.name, {{"_", "-"}});
}

std::string KeyName(const SettingSpec& spec) {
  return spec.key != nullptr ? spec.key : FlagName(spec);
}

absl::StatusOr<SettingValue> ParseSettingText(const SettingSpec& spec,
                                              absl::string_view text) {
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  switch (spec.type) {
    case SettingType::kDouble:
      if (double v; absl::SimpleAtod(trimmed, &v)) return SettingValue(v);
      return absl::InvalidArgumentError("not a number");
    case SettingType::kInt32:
      if (int32_t v; absl::SimpleAtoi(trimmed, &v)) {
        return SettingValue(static_cast<int64_t>(v));
      }
      return absl::InvalidArgumentError("not a 32-bit integer");
    case SettingType::kInt64:
      if (int64_t v; absl::SimpleAtoi(trimmed, &v)) return SettingValue(v);
      return absl::InvalidArgumentError("not an integer");
    case SettingType::kBool:
      if (bool v; absl::SimpleAtob(trimmed, &v)) return SettingValue(v);
      return absl::InvalidArgumentError("not true or false");
    case SettingType::kDuration:
      if (absl::Duration v; absl::ParseDuration(trimmed, &v)) {
        return SettingValue(v);
      }
      return absl::InvalidArgumentError("not a duration such as 60s");
    case SettingType::kEnum:
      return ParseEnum(spec, text);
  }
  return absl::InternalError("unknown setting type");
}

absl::StatusOr<SettingValue> ParseFlagText(const SettingSpec& spec,
                                           absl::string_view text) {
  absl::StatusOr<SettingValue> value = ParseSettingText(spec, text);
  if (value.ok() && spec.flag_unset != nullptr &&
      *value == ParseSettingText(spec, spec.flag_unset).value()) {
    return SettingValue();
  }
  return value;
}

std::string SettingText(const SettingValue& value) {
  struct Text {
    std::string operator()(std::monostate) const { return ""; }
    // The shortest text that reads back as the same double.
    std::string operator()(double v) const {
      std::string text = absl::StrFormat("%.15g", v);
      if (std::strtod(text.c_str(), nullptr) != v) {
        text = absl::StrFormat("%.17g", v);
      }
      return text;
    }
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(absl::Duration v) const {
      return absl::FormatDuration(v);
    }
    std::string operator()(const std::string& v) const { return v; }
  };
  return std::visit(Text{}, value);
}

std::string BoundsError(const SettingSpec& spec, const SettingValue& value) {
  const std::optional<double> v = Magnitude(value);
  if (!v) return "";
  if (!std::isfinite(*v)) {
    return IsDuration(spec) ? "must be finite" : "must be a finite number";
  }
  const Bounds& b = spec.bounds;
  if (b.also_allowed && *v == *b.also_allowed) return "";
  const bool below = b.min && (b.min_exclusive ? !(*v > *b.min) : *v < *b.min);
  const bool above = b.max && (b.max_exclusive ? !(*v < *b.max) : *v > *b.max);
  const auto* d = std::get_if<absl::Duration>(&value);
  const bool fraction =
      b.whole && d != nullptr && absl::Trunc(*d, *b.whole) != *d;
  if (!below && !above && !fraction) return "";
  // A limit with a reason of its own is named alone, so the reason is only
  // given where it applies.
  if (b.max_why != nullptr) {
    if (above) {
      return absl::StrCat("must be at most ", BoundText(spec, *b.max), " ",
                          b.max_why);
    }
    Bounds lower = b;
    lower.max.reset();
    SettingSpec only_min = spec;
    only_min.bounds = lower;
    return absl::StrCat("must be ", Requirement(only_min));
  }
  return absl::StrCat("must be ", Requirement(spec));
}

std::string SettingHelp(const SettingSpec& spec) {
  const std::string origin = SettingOrigin(spec);
  return absl::StrCat(origin, origin.empty() ? "" : ": ", SettingAbout(spec));
}

std::string SettingAbout(const SettingSpec& spec) {
  std::string text = spec.help;
  if (spec.type == SettingType::kEnum) {
    absl::StrAppend(&text, " One of ", absl::StrJoin(spec.values, ", "));
    for (const auto& [alias, value] : spec.value_aliases) {
      absl::StrAppend(&text, " (", value, " also as ", alias, ")");
    }
    absl::StrAppend(&text, ".");
  }
  if (HasBounds(spec)) {
    std::string requirement = Requirement(spec);
    requirement[0] = absl::ascii_toupper(requirement[0]);
    absl::StrAppend(&text, " ", requirement, ".");
  }
  return text;
}

std::string DefaultText(const SettingSpec& spec) {
  if (std::holds_alternative<std::monostate>(spec.default_value)) {
    return spec.flag_unset != nullptr ? spec.flag_unset : "\"\"";
  }
  const std::string text = SettingText(spec.default_value);
  return spec.type == SettingType::kEnum ? absl::StrCat("\"", text, "\"")
                                         : text;
}

absl::Status CheckBounds(const std::vector<SettingSpec>& specs,
                         const std::vector<SettingValue>& values) {
  for (size_t i = 0; i < specs.size(); ++i) {
    if (std::string why = BoundsError(specs[i], values[i]); !why.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(KeyName(specs[i]), ": ", why));
    }
  }
  return absl::OkStatus();
}

absl::string_view SourceName(SettingSource source) {
  switch (source) {
    case SettingSource::kManifest:
      return "manifest";
    case SettingSource::kFlag:
      return "flag";
    case SettingSource::kDefault:
      break;
  }
  return "default";
}

ResolvedSettings Defaults(const std::vector<SettingSpec>& specs) {
  ResolvedSettings r;
  for (const SettingSpec& spec : specs) {
    r.values.push_back(spec.default_value);
    r.sources.push_back(SettingSource::kDefault);
  }
  return r;
}

}  // namespace knbench::autoscaler_model
