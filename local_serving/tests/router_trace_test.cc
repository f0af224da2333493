// The router's spans (router_trace.cc), read back from a --trace-out file:
// who is whose parent, in and out of the activator's path.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "knbench/tracing/exporter.h"
#include "knbench/tracing/trace_context.h"
#include "nlohmann/json.hpp"
#include "router_fixture.h"

namespace knbench::local_serving {
namespace {

using nlohmann::json;

class RouterTraceTest : public RouterTest {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/router_trace_",
                         ::testing::UnitTest::GetInstance()->random_seed(), "_",
                         reinterpret_cast<uintptr_t>(this), ".jsonl");
    std::remove(path_.c_str());
    tracing::ExporterOptions options;
    options.trace_out = path_;
    auto exporter =
        tracing::SpanExporter::Start(options, {"local-serving", ""}, registry_);
    ASSERT_TRUE(exporter.ok()) << exporter.status();
    exporter_ = *std::move(exporter);
    tracing_.exporter = exporter_.get();
  }

  void TearDown() override {
    RouterTest::TearDown();
    std::remove(path_.c_str());
  }

  // One call with `traceparent` (none if empty); OK expected.
  void Call(const std::string& traceparent) {
    grpc::ClientContext context;
    if (!traceparent.empty()) context.AddMetadata("traceparent", traceparent);
    load_worker::WorkRequest request;
    request.set_duration_ms(1);
    load_worker::WorkResponse response;
    const grpc::Status status =
        stub_->InvokeWorker(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Every span exported, by name, once the router and the exporter stopped.
  std::multimap<std::string, json> Spans() {
    router_->Stop();
    exporter_->Shutdown();
    std::multimap<std::string, json> out;
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) {
      const json doc = json::parse(line);
      for (const json& rs : doc["resourceSpans"]) {
        for (const json& ss : rs["scopeSpans"]) {
          for (const json& span : ss["spans"]) out.emplace(span["name"], span);
        }
      }
    }
    return out;
  }

  static std::string Attr(const json& span, const std::string& key) {
    for (const json& a : span["attributes"]) {
      if (a["key"] == key) return a["value"].begin()->dump();
    }
    return "";
  }

  prometheus::Registry registry_;
  std::unique_ptr<tracing::SpanExporter> exporter_;
  std::string path_;
};

const tracing::SpanContext kCaller = tracing::NewRoot(/*sampled=*/true);

TEST_F(RouterTraceTest, OutOfThePathOnlyAQueueProxySpanUnderTheCaller) {
  StartRouter(RouterOptions{});
  AddPod("pod-a");
  router_->SetActivatorInPath(false);
  Call(tracing::FormatTraceparent(kCaller));
  const auto spans = Spans();
  ASSERT_EQ(spans.size(), 1u);
  const json& qp = spans.begin()->second;
  EXPECT_EQ(spans.begin()->first, "queue-proxy");
  EXPECT_EQ(qp["traceId"], tracing::Hex(kCaller.trace_id));
  EXPECT_EQ(qp["parentSpanId"], tracing::Hex(kCaller.span_id));
  EXPECT_EQ(Attr(qp, "k8s.pod.name"), "\"pod-a\"");
  EXPECT_EQ(Attr(qp, "rpc.grpc.status_code"), "\"0\"");
}

TEST_F(RouterTraceTest, AMalformedContextStartsARootAtTheRootRate) {
  tracing_.root_rate = 1;
  StartRouter(RouterOptions{});
  AddPod("pod-a");
  Call("00-zz-not-a-context");
  const auto spans = Spans();
  ASSERT_EQ(spans.size(), 3u);
  const json& activator = spans.find("activator")->second;
  const json& wait = spans.find("activator wait")->second;
  const json& qp = spans.find("queue-proxy")->second;
  EXPECT_FALSE(activator.contains("parentSpanId") &&
               activator["parentSpanId"] != "")
      << activator;
  EXPECT_EQ(wait["parentSpanId"], activator["spanId"]);
  EXPECT_EQ(qp["parentSpanId"], activator["spanId"]);
  EXPECT_EQ(qp["traceId"], activator["traceId"]);
  EXPECT_EQ(wait["endTimeUnixNano"], qp["startTimeUnixNano"]);
}

TEST_F(RouterTraceTest, UnsampledAndMalformedContextsAreNotTracedAtRateZero) {
  StartRouter(RouterOptions{});
  AddPod("pod-a");
  tracing::SpanContext unsampled = kCaller;
  unsampled.sampled = false;
  Call(tracing::FormatTraceparent(unsampled));
  Call("00-zz-not-a-context");
  Call("");
  EXPECT_TRUE(Spans().empty());
}

}  // namespace
}  // namespace knbench::local_serving
