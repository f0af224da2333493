#include "knbench/tracing/exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/testing/http_client.h"
#include "prometheus/registry.h"

namespace knbench::tracing {
namespace {

// A counter's value by family name and one label, from what /metrics shows.
double CounterValue(prometheus::Registry& registry, const std::string& name,
                    const std::string& label, const std::string& value) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      for (const auto& l : metric.label) {
        if (l.name == label && l.value == value) return metric.counter.value;
      }
    }
  }
  return -1;
}

double Dropped(prometheus::Registry& r, const std::string& reason) {
  return CounterValue(r, "tracing_spans_dropped_total", "reason", reason);
}
double Exported(prometheus::Registry& r, const std::string& sink) {
  return CounterValue(r, "tracing_spans_exported_total", "sink", sink);
}

Span SomeSpan(int i) {
  Span span;
  span.context = NewRoot(true);
  span.name = absl::StrCat("span ", i);
  span.start_unix_ns = 1000 + i;
  span.end_unix_ns = 2000 + i;
  return span;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          absl::StrCat("knbench_tracing_", getpid(), "_", name))
      .string();
}

// A TCP port that takes connections (the kernel completes them) and never
// reads or answers: a collector that hangs.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(SpanExporterTest, WritesBatchesOfOtlpJsonToTheFile) {
  const std::string path = TempPath("batches.jsonl");
  std::remove(path.c_str());
  prometheus::Registry registry;
  ExporterOptions options;
  options.trace_out = path;
  options.max_batch = 100;
  auto exporter = SpanExporter::Start(options, {"test", ""}, registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  for (int i = 0; i < 250; ++i) (*exporter)->Export(SomeSpan(i));
  (*exporter)->Shutdown();

  std::ifstream in(path);
  std::string line;
  size_t spans = 0;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    const auto request = nlohmann::json::parse(line);
    const auto& batch = request["resourceSpans"][0]["scopeSpans"][0]["spans"];
    EXPECT_LE(batch.size(), 100u);
    for (const auto& span : batch) {
      EXPECT_EQ(span["name"], absl::StrCat("span ", spans));
      ++spans;
    }
  }
  EXPECT_EQ(spans, 250u);
  EXPECT_GE(lines, 3);
  EXPECT_EQ(Exported(registry, "file"), 250);
  EXPECT_EQ(Dropped(registry, "queue_full"), 0);
  std::remove(path.c_str());
}

TEST(SpanExporterTest, AnUnwritableTraceOutIsAnErrorAtStart) {
  prometheus::Registry registry;
  ExporterOptions options;
  options.trace_out = "/nonexistent-dir/traces.jsonl";
  auto exporter = SpanExporter::Start(options, {"test", ""}, registry);
  ASSERT_FALSE(exporter.ok());
  EXPECT_THAT(std::string(exporter.status().message()),
              ::testing::HasSubstr("--trace-out /nonexistent-dir"));
}

TEST(SpanExporterTest, ADeadCollectorLosesSpansAndCountsThem) {
  prometheus::Registry registry;
  ExporterOptions options;
  options.otlp_endpoint = absl::StrCat(
      "http://127.0.0.1:", knbench::testing::PickFreePort(), "/v1/traces");
  auto exporter = SpanExporter::Start(options, {"test", ""}, registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  for (int i = 0; i < 20; ++i) (*exporter)->Export(SomeSpan(i));
  (*exporter)->Shutdown();
  EXPECT_EQ(Dropped(registry, "otlp_failed"), 20);
  EXPECT_EQ(Exported(registry, "otlp"), 0);
}

TEST(SpanExporterTest, AHungCollectorNeverBlocksExportAndTheQueueIsBounded) {
  SilentListener collector;
  prometheus::Registry registry;
  ExporterOptions options;
  options.otlp_endpoint =
      absl::StrCat("http://127.0.0.1:", collector.port(), "/v1/traces");
  options.queue_capacity = 4;
  options.max_batch = 1;
  options.batch_delay = absl::ZeroDuration();
  options.post_timeout = absl::Seconds(3);
  options.flush_timeout = absl::Milliseconds(100);
  auto exporter = SpanExporter::Start(options, {"test", ""}, registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  const absl::Time start = absl::Now();
  for (int i = 0; i < 10; ++i) (*exporter)->Export(SomeSpan(i));
  // Ten Exports against a POST that hangs for 3 s: none of them waited.
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // 4 queued and at most 1 taken by the hung POST: the rest were dropped.
  const double queue_full = Dropped(registry, "queue_full");
  EXPECT_GE(queue_full, 5);
  EXPECT_LE(queue_full, 6);
  (*exporter)->Shutdown();
  // Every span is accounted for once; none reached the collector.
  EXPECT_EQ(Exported(registry, "otlp"), 0);
  EXPECT_EQ(queue_full + Dropped(registry, "otlp_failed") +
                Dropped(registry, "shutdown"),
            10);
  EXPECT_GE(Dropped(registry, "shutdown"), 1);
}

}  // namespace
}  // namespace knbench::tracing
