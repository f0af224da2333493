#include "knbench/autoscaler_model/settings_flags.h"

#include <fstream>
#include <set>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "knbench/autoscaler_model/hpa_settings.h"
#include "knbench/autoscaler_model/kpa_settings.h"

// The flags that are not settings; the settings' flags come from the tables.
ABSL_FLAG(std::string, from_manifest, "",
          "A Knative Service YAML: read the class and the autoscaling.knative."
          "dev/* annotations from spec.template.metadata.annotations, "
          "containerConcurrency, and the first container's "
          "resources.requests.cpu. Flags given explicitly override it.");
ABSL_FLAG(bool, check_config, false,
          "Resolve flags and manifest, validate, print the configuration "
          "(the class and every setting of its table) and exit.");
ABSL_FLAG(std::string, format, "text",
          "How --check-config prints: text (key=value lines) or json (one "
          "object: settings, where each came from, derived values).");

namespace knbench::autoscaler_model {
namespace {

using Use = std::pair<std::string, SettingSpec>;  // (group label, spec)

// The file's text, or its first kMaxManifestBytes + 1 bytes (which
// ParseManifest refuses): /dev/zero must not fill memory.
absl::StatusOr<std::string> ReadManifestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string text(kMaxManifestBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// One text per class: the text when all agree, else "kpa: a<sep>hpa: b".
std::string PerClass(
    const std::vector<std::pair<std::string, std::string>>& labelled,
    absl::string_view sep) {
  bool same = true;
  for (const auto& [label, text] : labelled) {
    same = same && text == labelled.front().second;
  }
  if (same) return labelled.front().second;
  std::vector<std::string> texts;
  for (const auto& [label, text] : labelled) {
    texts.push_back(absl::StrCat(label, ": ", text));
  }
  return absl::StrJoin(texts, sep);
}

// --help: what the setting is for each class ("[hpa] ..."), after where it
// is read when that is the same for all.
std::string FlagHelp(const std::vector<Use>& uses) {
  const std::string origin = SettingOrigin(uses.front().second);
  bool shared_origin = uses.size() > 1 && !origin.empty();
  for (const auto& [label, spec] : uses) {
    shared_origin = shared_origin && SettingOrigin(spec) == origin;
  }
  std::vector<std::string> parts;
  for (const auto& [label, spec] : uses) {
    parts.push_back(
        absl::StrCat(label.empty() ? "" : "[" + label + "] ",
                     shared_origin ? SettingAbout(spec) : SettingHelp(spec)));
  }
  const std::string text = absl::StrJoin(parts, " ");
  return shared_origin ? absl::StrCat(origin, ": ", text) : text;
}

// --from-manifest, parsed (its settings are read per table).
absl::Status ParseManifestFlag(FlagSettings* out) {
  const std::string path = absl::GetFlag(FLAGS_from_manifest);
  if (path.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadManifestFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from-manifest: ", text.status().message()));
  }
  absl::StatusOr<ManifestSettings> manifest = ParseManifest(*text);
  if (!manifest.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", manifest.status().message()));
  }
  out->manifest_path = path;
  out->manifest = *std::move(manifest);
  return absl::OkStatus();
}

// Defaults, then the manifest's, then the flags given.
absl::StatusOr<ResolvedSettings> Resolve(const std::vector<SettingSpec>& specs,
                                         const SettingFlags& flags,
                                         const FlagSettings& settings,
                                         std::vector<std::string>* ignored) {
  ResolvedSettings r = Defaults(specs);
  if (!settings.manifest_path.empty()) {
    if (absl::Status st = ReadManifest(specs, settings.manifest, &r, ignored);
        !st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(settings.manifest_path, ": ", st.message()));
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StatusOr<std::optional<SettingValue>> given = flags.Given(specs[i]);
    if (!given.ok()) return given.status();
    if (!given->has_value()) continue;
    r.values[i] = **std::move(given);
    r.sources[i] = SettingSource::kFlag;
  }
  return r;
}

// The resolved values into the class's config, validated.
absl::Status WriteConfig(FlagSettings* out) {
  absl::Status st;
  if (out->autoscaler_class == AutoscalerClass::kHpa) {
    HpaSettings().Write(out->resolved.values, &out->hpa);
    st = ValidateHpaConfig(out->hpa);
  } else {
    KpaSettings().Write(out->resolved.values, &out->config);
    st = ValidateConfig(out->config);
  }
  if (st.ok()) return st;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid setting ", st.message()));
}

// What the class leaves aside: the manifest's keys, and flags of the other
// class's settings.
void AddNotes(const SettingFlags& flags, FlagSettings* out) {
  const AutoscalerClass other = out->autoscaler_class == AutoscalerClass::kKpa
                                    ? AutoscalerClass::kHpa
                                    : AutoscalerClass::kKpa;
  const std::string name(AutoscalerClassName(out->autoscaler_class));
  for (const std::string& key : out->ignored) {
    const bool others = ReadsAnnotation(ClassSpecs(other), key);
    out->notes.push_back(
        absl::StrCat(out->manifest_path, ": ", key, " is not modelled",
                     others ? " for the " + name + " class" : "", "; ignored"));
  }
  std::set<std::string> read = {ClassSettings().specs()[0].name};
  for (const SettingSpec& spec : ClassSpecs(out->autoscaler_class)) {
    read.insert(spec.name);
  }
  for (const auto& [flag, text] : flags.given()) {
    if (read.count(flag) > 0) continue;
    out->notes.push_back(
        absl::StrCat("--", absl::StrReplaceAll(flag, {{"_", "-"}}),
                     " is not a setting of the ", name, " class; ignored"));
  }
}

}  // namespace

SettingFlags::SettingFlags()
    : SettingFlags({{"", ClassSettings().specs()},
                    {std::string(AutoscalerClassName(AutoscalerClass::kKpa)),
                     KpaSettings().specs()},
                    {std::string(AutoscalerClassName(AutoscalerClass::kHpa)),
                     HpaSettings().specs()}}) {}

SettingFlags::SettingFlags(std::vector<SettingGroup> groups) {
  std::vector<std::string> names;  // in the order first seen
  std::map<std::string, std::vector<Use>> uses;
  for (const SettingGroup& group : groups) {
    for (const SettingSpec& spec : group.specs) {
      if (uses.count(spec.name) == 0) names.push_back(spec.name);
      uses[spec.name].emplace_back(group.label, spec);
    }
  }
  for (const std::string& name : names) AddFlag(uses[name]);
}

void SettingFlags::AddFlag(const std::vector<Use>& uses) {
  const std::string name = uses.front().second.name;
  std::vector<std::pair<std::string, std::string>> defaults;
  for (const auto& [label, spec] : uses) {
    defaults.emplace_back(label, DefaultText(spec));
  }
  flags_.push_back({name, FlagHelp(uses), PerClass(defaults, ", "),
                    uses.front().second.type == SettingType::kBool,
                    [this, name, uses](absl::string_view text) {
                      // Kept if some setting of the name reads it; each table
                      // reads it again, with its own meaning, once the class is
                      // known.
                      std::vector<std::pair<std::string, std::string>> errors;
                      for (const auto& [label, spec] : uses) {
                        absl::StatusOr<SettingValue> value =
                            ParseFlagText(spec, text);
                        if (value.ok()) {
                          given_[name] = std::string(text);
                          return absl::OkStatus();
                        }
                        errors.emplace_back(label, value.status().message());
                      }
                      return absl::InvalidArgumentError(PerClass(errors, "; "));
                    }});
}

absl::StatusOr<std::optional<SettingValue>> SettingFlags::Given(
    const SettingSpec& spec) const {
  const auto given = given_.find(spec.name);
  if (given == given_.end()) return std::nullopt;
  absl::StatusOr<SettingValue> value = ParseFlagText(spec, given->second);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", FlagName(spec), "=",
                                                   given->second, ": ",
                                                   value.status().message()));
  }
  return std::optional<SettingValue>(*std::move(value));
}

absl::StatusOr<FlagSettings> SettingsFromFlags(const SettingFlags& flags) {
  FlagSettings out;
  if (absl::Status st = ParseManifestFlag(&out); !st.ok()) return st;
  const SettingTable<ClassSetting>& classes = ClassSettings();
  absl::StatusOr<ResolvedSettings> chosen =
      Resolve(classes.specs(), flags, out, nullptr);
  if (!chosen.ok()) return chosen.status();
  ClassSetting c;
  classes.Write(chosen->values, &c);
  out.autoscaler_class = c.autoscaler_class;
  out.class_source = chosen->sources[0];
  absl::StatusOr<ResolvedSettings> resolved =
      Resolve(ClassSpecs(out.autoscaler_class), flags, out, &out.ignored);
  if (!resolved.ok()) return resolved.status();
  out.resolved = *std::move(resolved);
  if (absl::Status st = WriteConfig(&out); !st.ok()) return st;
  AddNotes(flags, &out);
  return out;
}

bool CheckConfigRequested() { return absl::GetFlag(FLAGS_check_config); }

absl::StatusOr<ReportFormat> RequestedReportFormat() {
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format == "text") return ReportFormat::kText;
  if (format == "json") return ReportFormat::kJson;
  return absl::InvalidArgumentError("--format must be text or json");
}

}  // namespace knbench::autoscaler_model
