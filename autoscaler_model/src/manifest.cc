#include "knbench/autoscaler_model/manifest.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace knbench::autoscaler_model {
namespace {

constexpr absl::string_view kPrefix = "autoscaling.knative.dev/";

std::string Unquote(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') &&
      s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

// Index of the first character outside single or double quotes for which
// `stop(i)` holds, or npos.
template <typename Stop>
size_t FindUnquoted(absl::string_view s, Stop stop) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (stop(i)) {
      return i;
    }
  }
  return absl::string_view::npos;
}

// Drops a trailing " # comment" that is not inside quotes.
absl::string_view StripComment(absl::string_view s) {
  const size_t hash = FindUnquoted(s, [s](size_t i) {
    return s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t');
  });
  return hash == absl::string_view::npos ? s : s.substr(0, hash);
}

// Splits "key: value" at the first ": " (or a trailing ':') outside quotes.
bool SplitKeyValue(absl::string_view s, std::string* key, std::string* value) {
  const size_t colon = FindUnquoted(s, [s](size_t i) {
    return s[i] == ':' && (i + 1 == s.size() || s[i + 1] == ' ');
  });
  if (colon == absl::string_view::npos) return false;
  *key = Unquote(s.substr(0, colon));
  *value = Unquote(s.substr(colon + 1));
  return true;
}

struct Document {
  std::string api_version;
  std::string kind;
  ManifestSettings settings;
};

Document ReadDocument(const std::vector<absl::string_view>& lines) {
  Document doc;
  std::vector<std::pair<size_t, std::string>> stack;  // (indent, key)
  for (absl::string_view raw : lines) {
    absl::string_view line = StripComment(raw);
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    line.remove_prefix(indent);
    // A list item's keys sit two columns right of its dash.
    while (absl::StartsWith(line, "- ")) {
      line.remove_prefix(2);
      indent += 2;
      while (!line.empty() && line.front() == ' ') {
        line.remove_prefix(1);
        ++indent;
      }
    }
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    std::string key;
    std::string value;
    if (!SplitKeyValue(line, &key, &value)) continue;

    std::vector<absl::string_view> path;
    for (const auto& entry : stack) path.push_back(entry.second);
    path.push_back(key);
    if (path.size() == 1 && key == "apiVersion") doc.api_version = value;
    if (path.size() == 1 && key == "kind") doc.kind = value;
    if (path.size() == 2 && path[0] == "metadata" && key == "name") {
      doc.settings.service_name = value;
    }
    if (path.size() == 5 && path[0] == "spec" && path[1] == "template" &&
        path[2] == "metadata" && path[3] == "annotations") {
      doc.settings.annotations[key] = value;
    }
    if (path.size() == 4 && path[0] == "spec" && path[1] == "template" &&
        path[2] == "spec" && key == "containerConcurrency") {
      int64_t cc = 0;
      // A non-number is left for ApplyManifest to report via the sentinel.
      doc.settings.container_concurrency =
          absl::SimpleAtoi(value, &cc) ? cc : -1;
    }
    if (value.empty()) stack.emplace_back(indent, key);
  }
  return doc;
}

absl::Status BadAnnotation(absl::string_view key, absl::string_view value,
                           absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest annotation ", key, "=\"", value, "\": ", why));
}

}  // namespace

absl::StatusOr<ManifestSettings> ParseManifest(absl::string_view yaml) {
  std::vector<absl::string_view> all = absl::StrSplit(yaml, '\n');
  std::vector<absl::string_view> current;
  auto try_document = [&](std::optional<ManifestSettings>* found) {
    if (found->has_value() || current.empty()) return;
    Document doc = ReadDocument(current);
    if (doc.kind == "Service" &&
        absl::StartsWith(doc.api_version, "serving.knative.dev/")) {
      *found = std::move(doc.settings);
    }
  };
  std::optional<ManifestSettings> found;
  for (absl::string_view line : all) {
    absl::ConsumeSuffix(&line, "\r");
    if (absl::StartsWith(line, "---")) {
      try_document(&found);
      current.clear();
      continue;
    }
    current.push_back(line);
  }
  try_document(&found);
  if (!found) {
    return absl::InvalidArgumentError(
        "no Knative Service (apiVersion serving.knative.dev/*, kind Service) "
        "in the manifest");
  }
  return *std::move(found);
}

absl::Status ApplyManifest(const ManifestSettings& settings, KpaConfig* config,
                           std::vector<std::string>* ignored) {
  if (settings.container_concurrency.has_value()) {
    if (*settings.container_concurrency < 0) {
      return absl::InvalidArgumentError(
          "manifest containerConcurrency is not a non-negative integer");
    }
    config->container_concurrency = *settings.container_concurrency;
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
    } else if (name == "target") {
      double t = 0;
      st = number(&t);
      config->target = t;
    } else if (name == "target-utilization-percentage") {
      st = number(&config->target_utilization_percentage);
    } else if (name == "window") {
      st = duration(&config->stable_window);
    } else if (name == "panic-window-percentage") {
      st = number(&config->panic_window_percentage);
    } else if (name == "panic-threshold-percentage") {
      st = number(&config->panic_threshold_percentage);
    } else if (name == "target-burst-capacity") {
      st = number(&config->target_burst_capacity);
    } else if (name == "min-scale" || name == "minScale") {
      st = integer(&config->min_scale);
    } else if (name == "max-scale" || name == "maxScale") {
      st = integer(&config->max_scale);
    } else if (name == "initial-scale" || name == "initialScale") {
      st = integer(&config->initial_scale);
    } else if (name == "activation-scale") {
      st = integer(&config->activation_scale);
    } else if (name == "scale-down-delay") {
      st = duration(&config->scale_down_delay);
    } else if (name == "metric-aggregation-algorithm") {
      const auto a = ParseAggregation(value);
      if (!a)
        return BadAnnotation(key, value, "linear or weighted-exponential");
      config->aggregation = *a;
    } else if (ignored != nullptr) {
      ignored->push_back(key);
    }
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace knbench::autoscaler_model
