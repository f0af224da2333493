#include "knbench/autoscaler_model/manifest.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/autoscaler_model/kpa_settings.h"
#include "knbench/common/quantity.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/yaml.h"

namespace knbench::autoscaler_model {
namespace {

// autoscaling.knative.dev/class chooses the autoscaler (and so the table):
// not a setting of a class's table, nor ignored by one.
constexpr absl::string_view kClass = "class";

// The documents of a YAML stream, split at "---" and "..." lines. yaml-cpp
// 0.7's LoadAll loops for ever on some invalid input (a lone ",": upstream
// issue 1040), while Load on one document returns; so the stream is split
// here and each document loaded on its own.
std::vector<absl::string_view> SplitDocuments(absl::string_view yaml) {
  std::vector<absl::string_view> docs;
  size_t start = 0;
  size_t pos = 0;
  auto marker = [](absl::string_view line, absl::string_view m) {
    return absl::StartsWith(line, m) &&
           (line.size() == m.size() || line[m.size()] == ' ' ||
            line[m.size()] == '\t' || line[m.size()] == '\r');
  };
  while (pos <= yaml.size()) {
    size_t eol = yaml.find('\n', pos);
    if (eol == absl::string_view::npos) eol = yaml.size();
    const absl::string_view line = yaml.substr(pos, eol - pos);
    if (marker(line, "---") || marker(line, "...")) {
      docs.push_back(yaml.substr(start, pos - start));
      // "--- key: value" starts the next document on the marker's line.
      start = marker(line, "---") ? pos + 3 : eol + 1;
    }
    pos = eol + 1;
  }
  if (start < yaml.size()) docs.push_back(yaml.substr(start));
  return docs;
}

// The 1-based line of the stream on which `part` (a view into it) starts.
int64_t LineOf(absl::string_view whole, absl::string_view part) {
  const size_t offset = static_cast<size_t>(part.data() - whole.data());
  return 1 + static_cast<int64_t>(
                 std::count(whole.begin(), whole.begin() + offset, '\n'));
}

// Lines before a document's first one that is not blank or a comment.
int64_t LeadingLines(absl::string_view text) {
  int64_t lines = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const absl::string_view content = absl::StripLeadingAsciiWhitespace(line);
    if (!content.empty() && content[0] != '#') break;
    ++lines;
  }
  return lines;
}

// One document of the stream `whole`; a YAML error says where in the
// stream, and nesting beyond yaml-cpp's limit says so (its own message is
// "bad file").
absl::StatusOr<YAML::Node> LoadDocument(absl::string_view whole,
                                        absl::string_view text) {
  auto error = [&](const YAML::Exception& e, absl::string_view what) {
    // The mark counts lines within this document, from 0.
    return absl::InvalidArgumentError(
        absl::StrCat("not valid YAML: line ", LineOf(whole, text) + e.mark.line,
                     ", column ", e.mark.column + 1, ": ", what));
  };
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    return error(e, absl::StrCat("nested ", e.depth(),
                                 " levels deep (the YAML parser's limit)"));
  } catch (const YAML::Exception& e) {
    return error(e, e.msg);
  }
}

// The text of a scalar node, or nothing for a missing node or null.
std::optional<std::string> ScalarAt(const YAML::Node& node) {
  if (!node || node.IsNull() || !node.IsScalar()) return std::nullopt;
  return node.Scalar();
}

bool IsKnativeService(const YAML::Node& doc) {
  const auto api = ScalarAt(doc["apiVersion"]);
  const auto kind = ScalarAt(doc["kind"]);
  return api && kind && *kind == "Service" &&
         absl::StartsWith(*api, "serving.knative.dev/");
}

// A child of a map by key; an error when `node` is set but not a map.
absl::StatusOr<YAML::Node> Child(const YAML::Node& node, const char* key,
                                 absl::string_view path) {
  if (!node || node.IsNull()) return YAML::Node();
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a map"));
  }
  return node[key];
}

// The scalar fields of spec.template.spec, as text.
absl::Status ReadRevisionSpec(const YAML::Node& spec,
                              std::map<std::string, std::string>* fields) {
  if (!spec || spec.IsNull()) return absl::OkStatus();
  if (!spec.IsMap()) {
    return absl::InvalidArgumentError("spec.template.spec is not a map");
  }
  for (const auto& entry : spec) {
    const auto key = ScalarAt(entry.first);
    const auto value = ScalarAt(entry.second);
    if (key && value) (*fields)[*key] = *value;
  }
  // Checked here, where its place in the manifest is known.
  if (spec["containerConcurrency"] && !spec["containerConcurrency"].IsNull()) {
    int64_t value = 0;
    const auto it = fields->find("containerConcurrency");
    if (it == fields->end() || !absl::SimpleAtoi(it->second, &value) ||
        value < 0) {
      return absl::InvalidArgumentError(
          "spec.template.spec.containerConcurrency is not a non-negative "
          "integer");
    }
  }
  return absl::OkStatus();
}

// One quantity of a container's resources: where it is and how it reads.
struct ResourceField {
  const char* part;  // requests or limits
  const char* name;  // cpu or memory
  absl::StatusOr<int64_t> (*parse)(absl::string_view);
  std::optional<int64_t> ContainerResources::*field;
};

constexpr ResourceField kResourceFields[] = {
    {"requests", "cpu", knbench::ParseCpuMillis,
     &ContainerResources::cpu_request_millicores},
    {"requests", "memory", knbench::ParseMemoryBytes,
     &ContainerResources::memory_request_bytes},
    {"limits", "cpu", knbench::ParseCpuMillis,
     &ContainerResources::cpu_limit_millicores},
    {"limits", "memory", knbench::ParseMemoryBytes,
     &ContainerResources::memory_limit_bytes},
};

// The value of a resource ("limits.cpu"); unset when the manifest has none.
std::optional<int64_t> ResourceValue(const ContainerResources& resources,
                                     absl::string_view resource) {
  for (const ResourceField& f : kResourceFields) {
    if (resource == absl::StrCat(f.part, ".", f.name))
      return resources.*f.field;
  }
  return std::nullopt;
}

// spec.template.spec.containers[0].resources; missing pieces stay unset.
absl::Status ReadResources(const YAML::Node& spec, ContainerResources* out) {
  absl::StatusOr<YAML::Node> containers =
      Child(spec, "containers", "spec.template.spec");
  if (!containers.ok()) return containers.status();
  if (!*containers || containers->IsNull()) return absl::OkStatus();
  if (!containers->IsSequence()) {
    return absl::InvalidArgumentError(
        "spec.template.spec.containers is not a list");
  }
  if (containers->size() == 0) return absl::OkStatus();
  const std::string container = "spec.template.spec.containers[0]";
  absl::StatusOr<YAML::Node> resources =
      Child((*containers)[0], "resources", container);
  if (!resources.ok()) return resources.status();
  const std::string parent = absl::StrCat(container, ".resources");
  for (const ResourceField& f : kResourceFields) {
    absl::StatusOr<YAML::Node> part = Child(*resources, f.part, parent);
    if (!part.ok()) return part.status();
    const std::string path = absl::StrCat(parent, ".", f.part);
    absl::StatusOr<YAML::Node> node = Child(*part, f.name, path);
    if (!node.ok()) return node.status();
    if (!*node || node->IsNull()) continue;
    if (!node->IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".", f.name, " is not a Kubernetes quantity"));
    }
    absl::StatusOr<int64_t> value = f.parse(node->Scalar());
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".", f.name, ": ", value.status().message()));
    }
    out->*f.field = *value;
  }
  return absl::OkStatus();
}

absl::StatusOr<ManifestSettings> ReadService(const YAML::Node& doc) {
  ManifestSettings settings;
  absl::StatusOr<YAML::Node> metadata = Child(doc, "metadata", "");
  absl::StatusOr<YAML::Node> spec = Child(doc, "spec", "");
  if (!metadata.ok()) return metadata.status();
  if (!spec.ok()) return spec.status();
  for (const auto& [field, out] :
       {std::pair{"name", &settings.service_name},
        std::pair{"namespace", &settings.namespace_name}}) {
    absl::StatusOr<YAML::Node> node = Child(*metadata, field, "metadata");
    if (!node.ok()) return node.status();
    if (auto text = ScalarAt(*node)) *out = *text;
  }
  absl::StatusOr<YAML::Node> tmpl = Child(*spec, "template", "spec");
  if (!tmpl.ok()) return tmpl.status();
  absl::StatusOr<YAML::Node> tmeta = Child(*tmpl, "metadata", "spec.template");
  if (!tmeta.ok()) return tmeta.status();
  absl::StatusOr<YAML::Node> annotations =
      Child(*tmeta, "annotations", "spec.template.metadata");
  if (!annotations.ok()) return annotations.status();
  if (*annotations && !annotations->IsNull()) {
    if (!annotations->IsMap()) {
      return absl::InvalidArgumentError(
          "spec.template.metadata.annotations is not a map of strings");
    }
    for (const auto& entry : *annotations) {
      const auto key = ScalarAt(entry.first);
      const auto value = ScalarAt(entry.second);
      if (!key || !value) {
        return absl::InvalidArgumentError(
            "spec.template.metadata.annotations is not a map of strings");
      }
      settings.annotations[*key] = *value;
    }
  }
  absl::StatusOr<YAML::Node> tspec = Child(*tmpl, "spec", "spec.template");
  if (!tspec.ok()) return tspec.status();
  if (absl::Status st = ReadRevisionSpec(*tspec, &settings.revision_spec);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = ReadResources(*tspec, &settings.resources); !st.ok()) {
    return st;
  }
  return settings;
}

// The setting an annotation (without the prefix) sets, by key or alias.
std::optional<size_t> AnnotationSetting(const std::vector<SettingSpec>& specs,
                                        absl::string_view name) {
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].source != KnativeSource::kAnnotation) continue;
    if (name == specs[i].key) return i;
    for (const char* alias : specs[i].aliases) {
      if (name == alias) return i;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<ManifestSettings> ParseManifest(absl::string_view yaml) {
  if (yaml.size() > kMaxManifestBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("larger than ", kMaxManifestBytes >> 20,
                     " MiB (kpa_model and local_serving read manifests up to ",
                     kMaxManifestBytes >> 20, " MiB)"));
  }
  std::vector<std::pair<YAML::Node, int64_t>> services;  // and their lines
  for (absl::string_view text : SplitDocuments(yaml)) {
    absl::StatusOr<YAML::Node> doc = LoadDocument(yaml, text);
    if (!doc.ok()) return doc.status();
    if (doc->IsMap() && IsKnativeService(*doc)) {
      services.emplace_back(*doc, LineOf(yaml, text) + LeadingLines(text));
    }
  }
  if (services.empty()) {
    return absl::InvalidArgumentError(
        "no Knative Service (apiVersion serving.knative.dev/*, kind Service) "
        "in the manifest");
  }
  if (services.size() > 1) {
    std::vector<std::string> each;
    for (const auto& [doc, line] : services) {
      const YAML::Node metadata = doc["metadata"];
      const std::optional<std::string> name =
          metadata.IsMap() ? ScalarAt(metadata["name"]) : std::nullopt;
      each.push_back(
          absl::StrCat(name.value_or("(no name)"), " at line ", line));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(services.size(), " Knative Services in the manifest (",
                     absl::StrJoin(each, ", "), "): give a manifest with one"));
  }
  return ReadService(services.front().first);
}

absl::Status ReadManifest(const std::vector<SettingSpec>& specs,
                          const ManifestSettings& settings,
                          ResolvedSettings* resolved,
                          std::vector<std::string>* ignored) {
  auto apply = [&](size_t i, absl::string_view what, absl::string_view key,
                   const std::string& value) -> absl::Status {
    absl::StatusOr<SettingValue> parsed = ParseSettingText(specs[i], value);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("manifest ", what, key, "=\"", value,
                       "\": ", parsed.status().message()));
    }
    resolved->values[i] = *std::move(parsed);
    resolved->sources[i] = SettingSource::kManifest;
    return absl::OkStatus();
  };
  for (const auto& [key, value] : settings.annotations) {
    if (!absl::StartsWith(key, kAnnotationPrefix)) continue;
    const absl::string_view name =
        absl::string_view(key).substr(kAnnotationPrefix.size());
    const std::optional<size_t> i = AnnotationSetting(specs, name);
    if (!i) {
      if (ignored != nullptr && name != kClass) ignored->push_back(key);
      continue;
    }
    if (absl::Status st = apply(*i, "annotation ", key, value); !st.ok()) {
      return st;
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].source == KnativeSource::kContainerResource) {
      // Already a number: ParseManifest read the quantity.
      const std::optional<int64_t> value =
          ResourceValue(settings.resources, specs[i].origin);
      if (!value) continue;
      resolved->values[i] = *value;
      resolved->sources[i] = SettingSource::kManifest;
      continue;
    }
    if (specs[i].source != KnativeSource::kRevisionSpec) continue;
    const auto field = settings.revision_spec.find(specs[i].key);
    if (field == settings.revision_spec.end()) continue;
    if (absl::Status st =
            apply(i, "spec.template.spec.", field->first, field->second);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

bool ReadsAnnotation(const std::vector<SettingSpec>& specs,
                     absl::string_view key) {
  return absl::StartsWith(key, kAnnotationPrefix) &&
         AnnotationSetting(specs, key.substr(kAnnotationPrefix.size()))
             .has_value();
}

absl::Status ApplyManifest(const ManifestSettings& settings, KpaConfig* config,
                           std::vector<std::string>* ignored) {
  const SettingTable<ClassSetting>& classes = ClassSettings();
  ResolvedSettings chosen = Defaults(classes.specs());
  if (absl::Status st =
          ReadManifest(classes.specs(), settings, &chosen, nullptr);
      !st.ok()) {
    return st;
  }
  ClassSetting c;
  classes.Write(chosen.values, &c);
  if (c.autoscaler_class != AutoscalerClass::kKpa) {
    return absl::InvalidArgumentError(absl::StrCat(
        "manifest annotation ", kAnnotationPrefix, kClass,
        ": the KPA's settings cannot be read from a manifest of class ",
        AutoscalerClassName(c.autoscaler_class)));
  }
  const SettingTable<KpaConfig>& table = KpaSettings();
  ResolvedSettings resolved = Defaults(table.specs());
  resolved.values = table.Read(*config);
  if (absl::Status st =
          ReadManifest(table.specs(), settings, &resolved, ignored);
      !st.ok()) {
    return st;
  }
  table.Write(resolved.values, config);
  return absl::OkStatus();
}

}  // namespace knbench::autoscaler_model
