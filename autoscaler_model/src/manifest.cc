#include "knbench/autoscaler_model/manifest.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace knbench::autoscaler_model {
namespace {

constexpr absl::string_view kPrefix = "autoscaling.knative.dev/";

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
  absl::StatusOr<YAML::Node> cc =
      Child(*tspec, "containerConcurrency", "spec.template.spec");
  if (!cc.ok()) return cc.status();
  if (*cc && !cc->IsNull()) {
    int64_t value = 0;
    const auto text = ScalarAt(*cc);
    if (!text || !absl::SimpleAtoi(*text, &value) || value < 0) {
      return absl::InvalidArgumentError(
          "spec.template.spec.containerConcurrency is not a non-negative "
          "integer");
    }
    settings.container_concurrency = value;
  }
  return settings;
}

absl::Status BadAnnotation(absl::string_view key, absl::string_view value,
                           absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest annotation ", key, "=\"", value, "\": ", why));
}

}  // namespace

absl::StatusOr<ManifestSettings> ParseManifest(absl::string_view yaml) {
  for (absl::string_view text : SplitDocuments(yaml)) {
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      // The mark counts lines within this document, from 0.
      const int64_t line = LineOf(yaml, text) + e.mark.line;
      return absl::InvalidArgumentError(
          absl::StrCat("not valid YAML: line ", line, ", column ",
                       e.mark.column + 1, ": ", e.msg));
    }
    if (!doc.IsMap() || !IsKnativeService(doc)) continue;
    return ReadService(doc);
  }
  return absl::InvalidArgumentError(
      "no Knative Service (apiVersion serving.knative.dev/*, kind Service) "
      "in the manifest");
}

absl::Status ApplyManifest(const ManifestSettings& settings, KpaConfig* config,
                           std::vector<std::string>* ignored,
                           std::set<std::string>* applied) {
  auto mark = [applied](const char* setting) {
    if (applied != nullptr) applied->insert(setting);
  };
  if (settings.container_concurrency.has_value()) {
    config->container_concurrency = *settings.container_concurrency;
    mark("container_concurrency");
  }
  for (const auto& annotation : settings.annotations) {
    // Named references, not structured bindings: C++17 lambdas (and clang)
    // cannot capture the latter.
    const std::string& key = annotation.first;
    const std::string& value = annotation.second;
    if (!absl::StartsWith(key, kPrefix)) continue;
    const absl::string_view name =
        absl::string_view(key).substr(kPrefix.size());
    auto number = [&](double* out) -> absl::Status {
      if (!absl::SimpleAtod(value, out)) {
        return BadAnnotation(key, value, "not a number");
      }
      return absl::OkStatus();
    };
    auto integer = [&](int32_t* out) -> absl::Status {
      if (!absl::SimpleAtoi(value, out)) {
        return BadAnnotation(key, value, "not an integer");
      }
      return absl::OkStatus();
    };
    auto duration = [&](absl::Duration* out) -> absl::Status {
      if (!absl::ParseDuration(value, out)) {
        return BadAnnotation(key, value, "not a duration such as 60s");
      }
      return absl::OkStatus();
    };
    absl::Status st;
    if (name == "class") {
      if (value != "kpa.autoscaling.knative.dev") {
        return BadAnnotation(key, value, "the model covers the KPA class only");
      }
    } else if (name == "metric") {
      const auto m = ParseMetric(value);
      if (!m) return BadAnnotation(key, value, "KPA metrics: concurrency, rps");
      config->metric = *m;
      mark("metric");
    } else if (name == "target") {
      double t = 0;
      st = number(&t);
      config->target = t;
      mark("target");
    } else if (name == "target-utilization-percentage") {
      st = number(&config->target_utilization_percentage);
      mark("target_utilization_percentage");
    } else if (name == "window") {
      st = duration(&config->stable_window);
      mark("window");
    } else if (name == "panic-window-percentage") {
      st = number(&config->panic_window_percentage);
      mark("panic_window_percentage");
    } else if (name == "panic-threshold-percentage") {
      st = number(&config->panic_threshold_percentage);
      mark("panic_threshold_percentage");
    } else if (name == "target-burst-capacity") {
      st = number(&config->target_burst_capacity);
      mark("target_burst_capacity");
    } else if (name == "min-scale" || name == "minScale") {
      st = integer(&config->min_scale);
      mark("min_scale");
    } else if (name == "max-scale" || name == "maxScale") {
      st = integer(&config->max_scale);
      mark("max_scale");
    } else if (name == "initial-scale" || name == "initialScale") {
      st = integer(&config->initial_scale);
      mark("initial_scale");
    } else if (name == "activation-scale") {
      st = integer(&config->activation_scale);
      mark("activation_scale");
    } else if (name == "scale-down-delay") {
      st = duration(&config->scale_down_delay);
      mark("scale_down_delay");
    } else if (name == "metric-aggregation-algorithm") {
      const auto a = ParseAggregation(value);
      if (!a)
        return BadAnnotation(key, value, "linear or weighted-exponential");
      config->aggregation = *a;
      mark("metric_aggregation_algorithm");
    } else if (ignored != nullptr) {
      ignored->push_back(key);
    }
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace knbench::autoscaler_model
