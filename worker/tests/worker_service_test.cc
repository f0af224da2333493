#include <future>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "knbench/common/metrics_endpoint.h"
#include "knbench/testing/wait.h"
#include "knbench/worker/worker_server.h"
#include "load_worker.grpc.pb.h"

namespace knbench::worker {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

using ::knbench::testing::WaitUntil;

// The value of the sample line that starts with `series` + " ".
double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double value = -1;
      absl::SimpleAtod(line.substr(series.size() + 1), &value);
      return value;
    }
  }
  return -1;
}

class WorkerServiceTest : public ::testing::Test {
 protected:
  void StartServer(WorkerOptions options) {
    options.instance_name = "test-pod";
    server_ = std::make_unique<WorkerServer>(options, registry_);
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = load_worker::LoadWorker::NewStub(channel_);
  }

  grpc::Status Call(
      int64_t duration_ms, load_worker::WorkResponse* response,
      std::chrono::milliseconds timeout = std::chrono::seconds(30),
      grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    if (context == nullptr) context = &local;
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    load_worker::WorkRequest request;
    request.set_duration_ms(duration_ms);
    return stub_->InvokeWorker(context, request, response);
  }

  std::string Metrics() { return RenderMetrics(*registry_); }
  double Requests(const std::string& status) {
    return Sample(Metrics(), absl::StrCat("worker_requests_total{status=\"",
                                          status, "\"}"));
  }

  std::shared_ptr<prometheus::Registry> registry_ =
      std::make_shared<prometheus::Registry>();
  std::unique_ptr<WorkerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<load_worker::LoadWorker::Stub> stub_;
};

TEST_F(WorkerServiceTest, AnswersWithOriginalMessagePodAndMeasuredSpin) {
  StartServer({});
  load_worker::WorkResponse response;
  grpc::Status status = Call(15, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message(), "processed in 15 ms by Worker \xE2\x9C\x85");
  EXPECT_EQ(response.pod(), "test-pod");
  EXPECT_GE(response.spin_us(), 15000);
  EXPECT_LT(response.spin_us(), 15000 + 50000);
}

TEST_F(WorkerServiceTest, RejectsNegativeAndTooLongDurationsNamingTheLimit) {
  WorkerOptions options;
  options.max_duration_ms = 1000;
  StartServer(options);
  for (int64_t bad : {int64_t{-1}, int64_t{1001}, int64_t{1} << 62}) {
    load_worker::WorkResponse response;
    grpc::Status status = Call(bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), HasSubstr("between 0 and 1000"));
  }
  load_worker::WorkResponse response;
  EXPECT_TRUE(Call(0, &response).ok());
  EXPECT_EQ(Requests("invalid"), 3);
  EXPECT_EQ(Requests("success"), 1);
}

TEST_F(WorkerServiceTest, MetricsCountEveryOutcomeWithTheOriginalBuckets) {
  StartServer({});
  load_worker::WorkResponse response;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Call(0, &response).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(5, &response).ok());
  ASSERT_FALSE(Call(-5, &response).ok());
  // The gauge drops in OnDone, which may run just after the client's answer.
  ASSERT_TRUE(WaitUntil(
      [&] { return Sample(Metrics(), "worker_inflight_requests") == 0; }));
  const std::string text = Metrics();
  EXPECT_EQ(Sample(text, "worker_requests_total{status=\"success\"}"), 8);
  EXPECT_EQ(Sample(text, "worker_requests_total{status=\"invalid\"}"), 1);
  EXPECT_EQ(Sample(text, "worker_requests_total{status=\"rejected\"}"), 0);
  EXPECT_EQ(Sample(text, "worker_requests_total{status=\"cancelled\"}"), 0);
  EXPECT_EQ(Sample(text, "worker_request_latency_ms_count"), 8);
  // Exactly the original's 15 boundaries plus +Inf.
  std::vector<std::string> les;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "worker_request_latency_ms_bucket{le=\"")) {
      les.emplace_back(line.substr(37, line.find('"', 37) - 37));
    }
  }
  EXPECT_THAT(les, ::testing::ElementsAre("1", "2", "4", "8", "16", "32", "64",
                                          "128", "256", "512", "1024", "2048",
                                          "4096", "8192", "16384", "+Inf"));
  EXPECT_EQ(Sample(text, "worker_request_latency_ms_bucket{le=\"+Inf\"}"), 8);
  // The 5 ms spins cannot land at or below 4 ms: observations are the real
  // elapsed time, not truncated.
  EXPECT_LE(Sample(text, "worker_request_latency_ms_bucket{le=\"4\"}"), 5);
  EXPECT_GE(Sample(text, "worker_request_latency_ms_sum"), 15.0);
  EXPECT_EQ(Sample(text, "worker_inflight_requests"), 0);
}

// N wall-clock spins overlap: all N are in flight at once, each on its own
// thread, and each still measures its full duration.
TEST_F(WorkerServiceTest, ConcurrentWallSpinsRunConcurrently) {
  StartServer({});
  constexpr int kCalls = 12;
  std::vector<std::future<std::pair<grpc::Status, int64_t>>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      load_worker::WorkResponse response;
      grpc::Status status = Call(400, &response);
      return std::make_pair(status, response.spin_us());
    }));
  }
  EXPECT_TRUE(WaitUntil([&] {
    return server_->service().inflight() == kCalls;
  })) << "in flight: "
      << server_->service().inflight();
  for (auto& call : calls) {
    auto [status, spin_us] = call.get();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(spin_us, 400000);
  }
  EXPECT_GE(server_->service().pool().threads(), static_cast<size_t>(kCalls));
}

// CPU-clock spins each need their CPU time, so a batch cannot finish faster
// than total CPU work / cores: throughput is bounded by CPU.
TEST_F(WorkerServiceTest, CpuSpinsAreBoundedByAvailableCpu) {
  WorkerOptions options;
  options.spin_clock = SpinClock::kCpu;
  StartServer(options);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int calls_n = 2 * cores + 2;
  const auto start = Clock::now();
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < calls_n; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      load_worker::WorkResponse response;
      return Call(100, &response);
    }));
  }
  for (auto& call : calls) EXPECT_TRUE(call.get().ok());
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(100 * calls_n / cores));
}

TEST_F(WorkerServiceTest, DeadlineStopsTheSpinAtOnce) {
  StartServer({});
  load_worker::WorkResponse response;
  grpc::Status status = Call(60000, &response, std::chrono::milliseconds(100));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // Had it kept spinning, in-flight would stay at 1 for a minute.
  EXPECT_TRUE(WaitUntil([&] {
    return server_->service().inflight() == 0 && Requests("cancelled") == 1;
  }));
}

TEST_F(WorkerServiceTest, ClientCancelStopsTheSpinAtOnce) {
  StartServer({});
  grpc::ClientContext context;
  auto call = std::async(std::launch::async, [&] {
    load_worker::WorkResponse response;
    return Call(60000, &response, std::chrono::seconds(120), &context);
  });
  ASSERT_TRUE(WaitUntil([&] { return server_->service().inflight() == 1; }));
  context.TryCancel();
  EXPECT_EQ(call.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitUntil([&] {
    return server_->service().inflight() == 0 && Requests("cancelled") == 1;
  }));
}

TEST_F(WorkerServiceTest, BeyondMaxInflightIsResourceExhaustedAtOnce) {
  WorkerOptions options;
  options.max_inflight = 2;
  StartServer(options);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::future<grpc::Status>> long_calls;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    grpc::ClientContext* context = contexts.back().get();
    long_calls.push_back(std::async(std::launch::async, [this, context] {
      load_worker::WorkResponse response;
      return Call(60000, &response, std::chrono::seconds(120), context);
    }));
  }
  ASSERT_TRUE(WaitUntil([&] { return server_->service().inflight() == 2; }));
  load_worker::WorkResponse response;
  grpc::Status status = Call(0, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("--max-inflight=2"));
  EXPECT_EQ(Requests("rejected"), 1);
  for (auto& context : contexts) context->TryCancel();
  for (auto& call : long_calls) call.get();
}

TEST_F(WorkerServiceTest, ShutdownLetsCallsInFlightFinish) {
  StartServer({});
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      load_worker::WorkResponse response;
      return Call(300, &response);
    }));
  }
  ASSERT_TRUE(WaitUntil([&] { return server_->service().inflight() == 3; }));
  server_->Shutdown(absl::Seconds(20));
  for (auto& call : calls) {
    grpc::Status status = call.get();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(Requests("success"), 3);
  // After shutdown no new call is served.
  load_worker::WorkResponse response;
  EXPECT_FALSE(Call(0, &response, std::chrono::milliseconds(500)).ok());
}

TEST_F(WorkerServiceTest, ShutdownCancelsSpinsThatOutlastTheGrace) {
  StartServer({});
  auto call = std::async(std::launch::async, [this] {
    load_worker::WorkResponse response;
    return Call(60000, &response, std::chrono::seconds(120));
  });
  ASSERT_TRUE(WaitUntil([&] { return server_->service().inflight() == 1; }));
  server_->Shutdown(absl::Milliseconds(100));
  EXPECT_FALSE(call.get().ok());
  EXPECT_EQ(Requests("cancelled"), 1);
}

// gRPC sets SO_REUSEPORT on its listeners: without care a second server
// starts on a busy port and the two split the calls.
TEST_F(WorkerServiceTest, SecondServerOnABusyPortFailsInsteadOfSharingIt) {
  StartServer({});
  WorkerServer second({}, std::make_shared<prometheus::Registry>());
  absl::Status status = second.Start("127.0.0.1", server_->port());
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot listen"));
  load_worker::WorkResponse response;
  EXPECT_TRUE(Call(0, &response).ok());
}

TEST_F(WorkerServiceTest, StreamsPerConnectionFollowMaxInflight) {
  EXPECT_EQ(MaxStreamsPerConnection(1000), 1100);
  EXPECT_EQ(MaxStreamsPerConnection(1), 101);
}

}  // namespace
}  // namespace knbench::worker
