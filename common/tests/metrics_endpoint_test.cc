#include "knbench/common/metrics_endpoint.h"

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/common/buckets.h"
#include "knbench/testing/http_client.h"
#include "prometheus/counter.h"

namespace knbench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The value of the first sample line that starts with `name` + " ".
double SampleValue(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, name + " ")) {
      double value = -1;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(name.size() + 1), &value));
      return value;
    }
  }
  ADD_FAILURE() << name << " missing from:\n" << text;
  return -1;
}

TEST(BucketsTest, AreTheOriginalFifteenPowersOfTwo) {
  std::vector<double> b = LatencyBucketsMs();
  EXPECT_THAT(b, ElementsAre(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
                             4096, 8192, 16384));
}

TEST(MetricsEndpointTest, ServesRegistryProcessMetricsAndHealth) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& counter = prometheus::BuildCounter()
                      .Name("thing_total")
                      .Help("things")
                      .Register(*registry)
                      .Add({{"status", "success"}});
  counter.Increment(3);
  MetricsEndpoint endpoint(registry);
  ASSERT_TRUE(endpoint.Start(0, "127.0.0.1").ok());

  auto health = testing::HttpGet(endpoint.port(), "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->body, "ok\n");

  auto metrics = testing::HttpGet(endpoint.port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("thing_total{status=\"success\"} 3"));
  EXPECT_THAT(metrics->body,
              HasSubstr("# TYPE process_cpu_seconds_total counter"));

  const double rss =
      SampleValue(metrics->body, "process_resident_memory_bytes");
  EXPECT_GT(rss, 1 << 20);     // A live process has more than 1 MiB resident.
  EXPECT_LT(rss, 1ull << 34);  // and less than 16 GiB.
  EXPECT_GE(SampleValue(metrics->body, "process_open_fds"), 3);
  const double start = SampleValue(metrics->body, "process_start_time_seconds");
  const double now = static_cast<double>(time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600);  // This test process started within the hour.
  EXPECT_GE(SampleValue(metrics->body, "process_cpu_seconds_total"), 0);
}

// A collectable added to the endpoint is read at each scrape, after the
// registry's series.
TEST(MetricsEndpointTest, RendersAddedCollectablesAtScrapeTime) {
  class Counting : public prometheus::Collectable {
   public:
    std::vector<prometheus::MetricFamily> Collect() const override {
      prometheus::MetricFamily family;
      family.name = "scrapes_seen";
      family.help = "scrapes";
      family.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric metric;
      metric.gauge.value = static_cast<double>(++scrapes_);
      family.metric.push_back(metric);
      return {family};
    }

   private:
    mutable int scrapes_ = 0;
  };
  MetricsEndpoint endpoint(std::make_shared<prometheus::Registry>());
  endpoint.Add(std::make_shared<Counting>());
  ASSERT_TRUE(endpoint.Start(0, "127.0.0.1").ok());
  for (double want : {1, 2}) {
    auto metrics = testing::HttpGet(endpoint.port(), "/metrics");
    ASSERT_TRUE(metrics.ok());
    EXPECT_EQ(SampleValue(metrics->body, "scrapes_seen"), want);
  }
}

}  // namespace
}  // namespace knbench
