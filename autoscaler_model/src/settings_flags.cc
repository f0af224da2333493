#include "knbench/autoscaler_model/settings_flags.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "knbench/autoscaler_model/kpa_settings.h"
#include "knbench/autoscaler_model/manifest.h"

// The flags that are not settings; the settings' flags come from the table.
ABSL_FLAG(std::string, from_manifest, "",
          "A Knative Service YAML: read autoscaling.knative.dev/* annotations "
          "from spec.template.metadata.annotations and containerConcurrency. "
          "Flags given explicitly override it.");
ABSL_FLAG(bool, check_config, false,
          "Resolve flags and manifest, validate, print the configuration "
          "(every setting) and exit.");
ABSL_FLAG(std::string, format, "text",
          "How --check-config prints: text (key=value lines) or json (one "
          "object: settings, where each came from, derived values).");

namespace knbench::autoscaler_model {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --from-manifest over the defaults in `out`.
absl::Status ReadManifestFlag(const std::vector<SettingSpec>& specs,
                              FlagSettings* out) {
  const std::string path = absl::GetFlag(FLAGS_from_manifest);
  if (path.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from-manifest: ", text.status().message()));
  }
  absl::StatusOr<ManifestSettings> manifest = ParseManifest(*text);
  absl::Status st = manifest.status();
  if (st.ok()) st = CheckKpaClass(*manifest);
  if (st.ok())
    st = ReadManifest(specs, *manifest, &out->resolved, &out->ignored);
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", st.message()));
  }
  for (const std::string& key : out->ignored) {
    out->notes.push_back(
        absl::StrCat(path, ": ", key, " is not modelled; ignored"));
  }
  out->manifest_path = path;
  out->manifest = *std::move(manifest);
  return absl::OkStatus();
}

}  // namespace

SettingFlags::SettingFlags(const std::vector<SettingSpec>& specs) {
  std::set<std::string> names;
  for (const SettingSpec& spec : specs) {
    if (!names.insert(spec.name).second) continue;
    flags_.push_back(
        {spec.name, SettingHelp(spec), DefaultText(spec),
         spec.type == SettingType::kBool, [this, spec](absl::string_view text) {
           absl::StatusOr<SettingValue> value = ParseFlagText(spec, text);
           if (!value.ok()) return value.status();
           given_[spec.name] = *std::move(value);
           return absl::OkStatus();
         }});
  }
}

absl::StatusOr<FlagSettings> SettingsFromFlags(const SettingFlags& flags) {
  const SettingTable<KpaConfig>& table = KpaSettings();
  FlagSettings out;
  out.resolved = Defaults(table.specs());
  if (absl::Status st = ReadManifestFlag(table.specs(), &out); !st.ok()) {
    return st;
  }
  for (size_t i = 0; i < table.specs().size(); ++i) {
    const auto given = flags.given().find(table.specs()[i].name);
    if (given == flags.given().end()) continue;
    out.resolved.values[i] = given->second;
    out.resolved.sources[i] = SettingSource::kFlag;
  }
  table.Write(out.resolved.values, &out.config);
  if (absl::Status st = ValidateConfig(out.config); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid setting ", st.message()));
  }
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
