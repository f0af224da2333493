// The pods' resources: flag > manifest > none for each, and the HPA's own
// CPU request under the hpa class.
#include "knbench/local_serving/pod_resources.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/autoscaler_model/autoscaler_class.h"

namespace knbench::local_serving {
namespace {

namespace am = autoscaler_model;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1 << 20;

// The real manifest's resources: requests 500m and 64Mi, limits 1 CPU and
// 256Mi.
am::FlagSettings WithManifest() {
  am::FlagSettings s;
  s.manifest.resources = {500, 1000, 64 * kMiB, 256 * kMiB};
  return s;
}

TEST(PodResources, FlagsOverTheManifestAndZeroIsNone) {
  auto pods = ResolvePodResources({}, WithManifest());
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(pods->resources,
            (cgroups::Resources{500, 1000, 64 * kMiB, 256 * kMiB}));
  EXPECT_EQ(pods->cpu_limit_source, "manifest");

  pods = ResolvePodResources({"250m", "0.5", "0"}, WithManifest());
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(pods->resources,
            (cgroups::Resources{250, 500, 64 * kMiB, std::nullopt}));
  EXPECT_EQ(pods->cpu_request_source, "flag");
  EXPECT_EQ(pods->memory_limit_source, "flag");
  EXPECT_EQ(pods->memory_request_source, "manifest");

  pods = ResolvePodResources({"", "2", "1Gi"}, am::FlagSettings());
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(pods->resources,
            (cgroups::Resources{std::nullopt, 2000, std::nullopt, 1 << 30}));
  EXPECT_EQ(pods->cpu_request_source, "default");
}

TEST(PodResources, BadQuantitiesAndRequestsAboveLimitsAreOneLine) {
  auto bad = ResolvePodResources({"", "two", ""}, am::FlagSettings());
  EXPECT_THAT(bad.status().message(), HasSubstr("--pod-cpu-limit=two: "));
  bad = ResolvePodResources({"", "", "-5Mi"}, am::FlagSettings());
  EXPECT_THAT(bad.status().message(), HasSubstr("--pod-memory-limit=-5Mi: "));
  bad = ResolvePodResources({"", "250m", ""}, WithManifest());
  EXPECT_EQ(bad.status().message(),
            "the pods' CPU request (500m) must not exceed their CPU limit "
            "(250m)");
  bad = ResolvePodResources({"", "", "32Mi"}, WithManifest());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("memory request (67108864 bytes) must not exceed"));
}

TEST(PodResources, UnderTheHpaClassTheCpuRequestIsTheHpas) {
  am::FlagSettings s = WithManifest();
  s.autoscaler_class = am::AutoscalerClass::kHpa;
  s.resolved = am::Defaults(am::ClassSpecs(am::AutoscalerClass::kHpa));
  const auto& specs = am::ClassSpecs(am::AutoscalerClass::kHpa);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (std::string(specs[i].name) == "cpu_request") {
      s.resolved.sources[i] = am::SettingSource::kFlag;
    }
  }
  s.hpa.cpu_request = 300;  // --cpu-request=300 over the manifest's 500m
  auto pods = ResolvePodResources({}, s);
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(pods->resources.cpu_request_millicores, 300);
  EXPECT_EQ(pods->cpu_request_source, "flag");
  auto refused = ResolvePodResources({"300m", "", ""}, s);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("the pods' CPU request is the HPA's --cpu-request"));
}

TEST(PodResources, JsonForCheckConfigAndState) {
  auto pods = ResolvePodResources({"", "", "0"}, WithManifest());
  ASSERT_TRUE(pods.ok());
  EXPECT_EQ(PodResourcesJson(*pods, "v1").dump(),
            R"({"cpu_request_millicores":500,"cpu_limit_millicores":1000,)"
            R"("memory_request_bytes":67108864,"memory_limit_bytes":null,)"
            R"("sources":{"cpu_request":"manifest","cpu_limit":"manifest",)"
            R"("memory_request":"manifest","memory_limit":"flag"},)"
            R"("limits_enforced":"v1"})");
}

}  // namespace
}  // namespace knbench::local_serving
