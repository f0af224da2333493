#include "knbench/autoscaler_model/manifest.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench::autoscaler_model {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ParseManifest, ReadsTemplateAnnotationsOfTheKnativeService) {
  auto m = ParseManifest(ReadFile(KPA_FIXTURES_DIR "/worker-service.yaml"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->service_name, "worker");
  // The metrics Service's and the Service-level annotations are not used.
  EXPECT_EQ(m->annotations.at("autoscaling.knative.dev/target"), "10");
  EXPECT_EQ(m->annotations.at("autoscaling.knative.dev/max-scale"), "3");
  EXPECT_EQ(m->annotations.at(
                "autoscaling.knative.dev/target-utilization-percentage"),
            "100");
  EXPECT_EQ(m->annotations.count("app"), 0u);  // a label, not an annotation
  EXPECT_EQ(m->revision_spec.at("containerConcurrency"), "0");

  KpaConfig c;
  std::vector<std::string> ignored;
  ASSERT_TRUE(ApplyManifest(*m, &c, &ignored).ok());
  EXPECT_EQ(c.metric, Metric::kConcurrency);
  ASSERT_TRUE(c.target.has_value());
  EXPECT_DOUBLE_EQ(*c.target, 10);
  EXPECT_DOUBLE_EQ(c.target_utilization_percentage, 100);
  EXPECT_EQ(c.stable_window, absl::Seconds(6));
  EXPECT_EQ(c.min_scale, 1);  // legacy minScale spelling
  EXPECT_EQ(c.max_scale, 3);
  EXPECT_DOUBLE_EQ(c.target_burst_capacity, 0);
  // Unmodelled autoscaling keys are reported; other annotations are not ours.
  EXPECT_EQ(ignored,
            std::vector<std::string>{
                "autoscaling.knative.dev/scale-to-zero-pod-retention-period"});
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ParseManifest, FlowListsAndInlineContainers) {
  auto m = ParseManifest(
      "apiVersion: serving.knative.dev/v1\n"
      "kind: Service\n"
      "metadata: {name: w}\n"
      "spec:\n"
      "  template:\n"
      "    metadata:\n"
      "      annotations:\n"
      "        \"autoscaling.knative.dev/metric\": \"rps\"\n"
      "    spec:\n"
      "      containers:\n"
      "      - image: x\n"
      "        name: w\n"
      "      containerConcurrency: 8\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->annotations.at("autoscaling.knative.dev/metric"), "rps");
  EXPECT_EQ(m->revision_spec.at("containerConcurrency"), "8");
  KpaConfig c;
  ASSERT_TRUE(ApplyManifest(*m, &c, nullptr).ok());
  EXPECT_EQ(c.container_concurrency, 8);
  EXPECT_EQ(c.metric, Metric::kRps);
}

TEST(ParseManifest, FlowStyleAnnotationsAndNamespace) {
  // Probed defect: flow-style annotations were ignored and the run went on
  // with the defaults.
  auto m = ParseManifest(
      "apiVersion: serving.knative.dev/v1\n"
      "kind: Service\n"
      "metadata: {name: w, namespace: bench}\n"
      "spec:\n"
      "  template:\n"
      "    metadata:\n"
      "      annotations: {autoscaling.knative.dev/target: \"20\", "
      "autoscaling.knative.dev/window: 30s}\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->service_name, "w");
  EXPECT_EQ(m->namespace_name, "bench");
  EXPECT_EQ(m->annotations.at("autoscaling.knative.dev/target"), "20");
  KpaConfig c;
  ASSERT_TRUE(ApplyManifest(*m, &c, nullptr).ok());
  EXPECT_DOUBLE_EQ(*c.target, 20);
  EXPECT_EQ(c.stable_window, absl::Seconds(30));
}

TEST(ParseManifest, NotYamlOrAnnotationsNotAMapAreErrors) {
  // Probed defects: a tab-indented line and annotations given as a list were
  // silently ignored. Tabs cannot indent YAML: the file is not YAML.
  const std::string head =
      "apiVersion: serving.knative.dev/v1\n"
      "kind: Service\n"
      "metadata:\n"
      "  name: w\n"
      "spec:\n"
      "  template:\n"
      "    metadata:\n"
      "      annotations:\n";
  auto tab = ParseManifest(head + "\tautoscaling.knative.dev/target: \"20\"\n");
  ASSERT_FALSE(tab.ok());
  EXPECT_NE(tab.status().message().find("not valid YAML: line 9"),
            std::string::npos)
      << tab.status();
  auto list =
      ParseManifest(head + "        - autoscaling.knative.dev/target=20\n");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(),
            "spec.template.metadata.annotations is not a map of strings");
  auto cc = ParseManifest(
      "apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n"
      "  template:\n    spec:\n      containerConcurrency: -3\n");
  ASSERT_FALSE(cc.ok());
  EXPECT_EQ(cc.status().message(),
            "spec.template.spec.containerConcurrency is not a non-negative "
            "integer");
  EXPECT_FALSE(ParseManifest("key: [unclosed\n").ok());
  // yaml-cpp's LoadAll loops for ever on this (found by kpa_manifest_fuzz).
  EXPECT_FALSE(ParseManifest(",a").ok());
}

TEST(ParseManifest, SecondDocumentAndErrorLinesCountTheWholeStream) {
  auto m = ParseManifest(
      "apiVersion: v1\nkind: Service\nmetadata: {name: other}\n"
      "--- # the Knative one\n"
      "apiVersion: serving.knative.dev/v1\nkind: Service\n"
      "metadata: {name: second}\n...\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->service_name, "second");
  // The unclosed flow is reported where the input ends: line 5 of the
  // stream, line 3 of the second document.
  auto bad = ParseManifest("a: 1\n---\nb: 2\nc: [\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 5,"), std::string::npos)
      << bad.status();
}

// Two Knative Services: which one was meant is not for us to guess.
TEST(ParseManifest, TwoKnativeServicesAreRefusedNamingBoth) {
  auto m = ParseManifest(
      "apiVersion: serving.knative.dev/v1\nkind: Service\n"
      "metadata: {name: first}\n"
      "---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
      "---\n"
      "apiVersion: serving.knative.dev/v1\nkind: Service\n"
      "metadata: {name: second}\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "2 Knative Services in the manifest (first at line 1, second at "
            "line 9): give a manifest with one");
}

// yaml-cpp stops at 500 levels with "bad file"; the error says what.
TEST(ParseManifest, TooDeepNestingSaysSoAndWhere) {
  std::string deep =
      "apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n";
  for (int i = 0; i < 600; ++i) deep += std::string(2 * i + 2, ' ') + "k:\n";
  auto m = ParseManifest(deep);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()),
              ::testing::MatchesRegex("not valid YAML: line [0-9]+, column "
                                      "[0-9]+: nested 500 levels deep .*"));
  auto flow = ParseManifest("a: " + std::string(3000, '[') +
                            std::string(3000, ']') + "\n");
  ASSERT_FALSE(flow.ok());
  EXPECT_THAT(std::string(flow.status().message()),
              ::testing::HasSubstr("nested 500 levels deep"));
}

// A manifest larger than kMaxManifestBytes is refused before it is parsed,
// whatever it holds (a valid Service padded with a comment here).
TEST(ParseManifest, AManifestOverTheSizeLimitIsRefused) {
  const std::string service =
      "apiVersion: serving.knative.dev/v1\nkind: Service\n"
      "metadata: {name: big}\n";
  std::string padded = service + "# " +
                       std::string(kMaxManifestBytes - service.size(), 'x') +
                       "\n";
  auto m = ParseManifest(padded);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "larger than 4 MiB (kpa_model and local_serving read manifests "
            "up to 4 MiB)");
  padded.resize(kMaxManifestBytes);
  EXPECT_TRUE(ParseManifest(padded).ok());
}

// The rendered HPA overlay's worker: requests 500m / 64Mi, limits "1" /
// 256Mi.
TEST(ParseManifest, ContainerResourcesOfTheHpaOverlay) {
  auto m = ParseManifest(ReadFile(KPA_FIXTURES_DIR "/worker-service-hpa.yaml"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->resources.cpu_request_millicores, 500);
  EXPECT_EQ(m->resources.cpu_limit_millicores, 1000);
  EXPECT_EQ(m->resources.memory_request_bytes, int64_t{64} << 20);
  EXPECT_EQ(m->resources.memory_limit_bytes, int64_t{256} << 20);
}

// A Knative Service whose revision spec is `spec` (indented under it).
std::string WithRevisionSpec(const std::string& spec) {
  return "apiVersion: serving.knative.dev/v1\nkind: Service\n"
         "metadata: {name: w}\nspec:\n  template:\n    spec:\n" +
         spec;
}

TEST(ParseManifest, ResourcesEachOptional) {
  struct Case {
    std::string spec;
    ContainerResources want;
  };
  const std::vector<Case> cases = {
      {"      containerConcurrency: 1\n", {}},
      {"      containers: []\n", {}},
      {"      containers:\n      - name: w\n", {}},
      {"      containers:\n      - resources: {}\n", {}},
      {"      containers:\n      - resources: {limits: {cpu: }}\n", {}},
      // Only some; a number as YAML writes it; rounded up; the first
      // container only.
      {"      containers:\n      - resources:\n          limits: {cpu: "
       "\"0.25\"}\n          requests: {cpu: 2, memory: 1G}\n"
       "      - resources: {limits: {memory: 1Ki}}\n",
       {2000, 250, 1'000'000'000, std::nullopt}},
      {"      containers: [{resources: {limits: {cpu: 1500u, memory: "
       "129e6}}}]\n",
       {std::nullopt, 2, std::nullopt, 129'000'000}},
  };
  for (const Case& c : cases) {
    auto m = ParseManifest(WithRevisionSpec(c.spec));
    ASSERT_TRUE(m.ok()) << c.spec << m.status();
    EXPECT_EQ(m->resources.cpu_request_millicores,
              c.want.cpu_request_millicores)
        << c.spec;
    EXPECT_EQ(m->resources.cpu_limit_millicores, c.want.cpu_limit_millicores)
        << c.spec;
    EXPECT_EQ(m->resources.memory_request_bytes, c.want.memory_request_bytes)
        << c.spec;
    EXPECT_EQ(m->resources.memory_limit_bytes, c.want.memory_limit_bytes)
        << c.spec;
  }
}

TEST(ParseManifest, BadResourcesNameTheField) {
  const std::string res = "spec.template.spec.containers[0].resources";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"      containers:\n      - resources: {limits: {cpu: abc}}\n",
       res + ".limits.cpu: \"abc\" is not a Kubernetes quantity (e.g. "
             "500m, 1, 256Mi, 1G; no sign)"},
      {"      containers:\n      - resources: {requests: {memory: -64Mi}}\n",
       res + ".requests.memory: \"-64Mi\" is not a Kubernetes quantity (e.g. "
             "500m, 1, 256Mi, 1G; no sign)"},
      {"      containers:\n      - resources: {requests: {cpu: 2e12}}\n",
       res + ".requests.cpu: \"2e12\" is too large (at most 1000000000000)"},
      {"      containers:\n      - resources: {limits: {memory: [1]}}\n",
       res + ".limits.memory is not a Kubernetes quantity"},
      {"      containers:\n      - resources: {limits: 1}\n",
       res + ".limits is not a map"},
      {"      containers:\n      - resources: [cpu]\n", res + " is not a map"},
      {"      containers:\n      - worker\n",
       "spec.template.spec.containers[0] is not a map"},
      {"      containers: {name: w}\n",
       "spec.template.spec.containers is not a list"},
  };
  for (const auto& [spec, error] : cases) {
    auto m = ParseManifest(WithRevisionSpec(spec));
    ASSERT_FALSE(m.ok()) << spec;
    EXPECT_EQ(m.status().message(), error) << spec;
  }
}

TEST(ParseManifest, Errors) {
  EXPECT_FALSE(ParseManifest("apiVersion: v1\nkind: Service\n").ok());
  ManifestSettings s;
  KpaConfig c;
  s.annotations["autoscaling.knative.dev/class"] =
      "hpa.autoscaling.knative.dev";
  EXPECT_FALSE(ApplyManifest(s, &c, nullptr).ok());
  s.annotations.clear();
  s.annotations["autoscaling.knative.dev/window"] = "sixty";
  const absl::Status st = ApplyManifest(s, &c, nullptr);
  EXPECT_EQ(st.message(),
            "manifest annotation autoscaling.knative.dev/window=\"sixty\": "
            "not a duration such as 60s");
  s.annotations.clear();
  s.annotations["autoscaling.knative.dev/metric"] = "cpu";
  EXPECT_FALSE(ApplyManifest(s, &c, nullptr).ok());
}

}  // namespace
}  // namespace knbench::autoscaler_model
