#include "knbench/tracing/otlp_json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/tracing/flags.h"

namespace knbench::tracing {
namespace {

using nlohmann::json;

Span ServerSpan() {
  Span span;
  span.context = *ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  span.parent = ParseTraceparent(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01")
                    ->span_id;
  span.kind = SpanKind::kServer;
  span.start_unix_ns = 1700000000123456789;
  span.end_unix_ns = 1700000000223456789;
  SetGrpcCall(&span, "load_worker.LoadWorker", "InvokeWorker", 14);
  return span;
}

TEST(OtlpJsonTest, EncodesAnExportRequestAsOtlpJson) {
  // Compared as plain JSON: key order aside.
  const json request = json::parse(
      EncodeExportRequest({"worker", "worker-abc"}, {ServerSpan()}).dump());
  const json expected = json::parse(R"({"resourceSpans": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "worker"}},
      {"key": "k8s.pod.name", "value": {"stringValue": "worker-abc"}}]},
    "scopeSpans": [{"scope": {"name": "knbench"}, "spans": [{
      "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
      "spanId": "00f067aa0ba902b7",
      "parentSpanId": "b7ad6b7169203331",
      "name": "load_worker.LoadWorker/InvokeWorker",
      "kind": 2,
      "startTimeUnixNano": "1700000000123456789",
      "endTimeUnixNano": "1700000000223456789",
      "attributes": [
        {"key": "rpc.system", "value": {"stringValue": "grpc"}},
        {"key": "rpc.service", "value": {"stringValue": "load_worker.LoadWorker"}},
        {"key": "rpc.method", "value": {"stringValue": "InvokeWorker"}},
        {"key": "rpc.grpc.status_code", "value": {"intValue": "14"}}],
      "status": {"code": 2}}]}]}]})");
  EXPECT_EQ(request, expected) << request.dump(2);
}

TEST(OtlpJsonTest, RootSpansHaveNoParentAndUnknownPodsNoAttribute) {
  Span root;
  root.context = NewRoot(true);
  root.name = "spin";
  root.attributes = {{"ratio", 0.5}, {"ok", true}};
  const json request =
      json::parse(EncodeExportRequest({"load_driver", ""}, {root}).dump());
  const json& span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_FALSE(span.contains("parentSpanId"));
  EXPECT_EQ(span["kind"], 1);
  EXPECT_EQ(span["status"], json({{"code", 0}}));
  EXPECT_EQ(span["attributes"][0]["value"], json({{"doubleValue", 0.5}}));
  EXPECT_EQ(span["attributes"][1]["value"], json({{"boolValue", true}}));
  EXPECT_EQ(request["resourceSpans"][0]["resource"]["attributes"].size(), 1u);
}

TEST(GrpcCallTest, ServerSpansMarkOnlyTheServersFaults) {
  for (const auto& [code, server_error] :
       {std::pair{0, false}, std::pair{3, false}, std::pair{8, false},
        std::pair{1, false}, std::pair{2, true}, std::pair{4, true},
        std::pair{13, true}, std::pair{14, true}}) {
    Span server;
    server.kind = SpanKind::kServer;
    SetGrpcCall(&server, "s", "m", code);
    EXPECT_EQ(server.status == StatusCode::kError, server_error) << code;
    Span client;
    client.kind = SpanKind::kClient;
    SetGrpcCall(&client, "s", "m", code);
    EXPECT_EQ(client.status == StatusCode::kError, code != 0) << code;
  }
}

TEST(TracingSettingsTest, ChecksRateEndpointAndSink) {
  TracingSettings s;
  EXPECT_TRUE(CheckTracingSettings(s).ok());
  s.sample_rate = 0.5;
  EXPECT_THAT(std::string(CheckTracingSettings(s).message()),
              ::testing::HasSubstr("needs --otlp-endpoint or --trace-out"));
  s.trace_out = "/tmp/x";
  EXPECT_TRUE(CheckTracingSettings(s).ok());
  s.sample_rate = 1.5;
  EXPECT_FALSE(CheckTracingSettings(s).ok());
  s.sample_rate = std::nan("");
  EXPECT_FALSE(CheckTracingSettings(s).ok());
  s.sample_rate = 1;
  s.otlp_endpoint = "collector:4318";
  EXPECT_THAT(std::string(CheckTracingSettings(s).message()),
              ::testing::HasSubstr("http:// or https://"));
  s.otlp_endpoint = "http://collector:4318/v1/traces";
  EXPECT_TRUE(CheckTracingSettings(s).ok());
}

}  // namespace
}  // namespace knbench::tracing
