// The waits local_serving's router returns in its trailers reach the row,
// through both transports, over real gRPC on loopback.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "knbench/common/clock.h"
#include "knbench/common/wait_trailers.h"
#include "knbench/load_driver/config.h"
#include "knbench/load_driver/grpc_transport.h"
#include "knbench/load_driver/target.h"
#include "load_worker.grpc.pb.h"
#ifdef KNBENCH_HAVE_NGHTTP2
#include "knbench/load_driver/h2_transport.h"
#endif

namespace knbench::load_driver {
namespace {

TEST(ParseWaitMicrosTest, DecimalOnly) {
  EXPECT_EQ(ParseWaitMicros("0"), 0);
  EXPECT_EQ(ParseWaitMicros("1234567"), 1234567);
  for (const char* bad : {"", "-5", "+5", " 5", "5 ", "12x", "1.5", "0x10",
                          "99999999999999999999"}) {
    EXPECT_EQ(ParseWaitMicros(bad), -1) << "'" << bad << "'";
  }
}

// What the test server answers, chosen by the request's duration_ms.
enum Answer : int32_t {
  kOkWithWaits = 1,       // OK, trailers carry both waits
  kFailureWaitsOnly = 2,  // UNAVAILABLE as a trailers-only answer
  kMalformedWaits = 3,    // OK, both waits unreadable
  kNoWaits = 4,           // OK, as a worker answers: no trailers of ours
};

class WaitsService final : public load_worker::LoadWorker::CallbackService {
  grpc::ServerUnaryReactor* InvokeWorker(
      grpc::CallbackServerContext* context,
      const load_worker::WorkRequest* request,
      load_worker::WorkResponse* response) override {
    grpc::Status status;
    switch (request->duration_ms()) {
      case kOkWithWaits:
        context->AddTrailingMetadata(kActivatorWaitTrailer, "1500");
        context->AddTrailingMetadata(kQueueWaitTrailer, "250");
        break;
      case kFailureWaitsOnly:
        context->AddTrailingMetadata(kActivatorWaitTrailer, "7");
        context->AddTrailingMetadata(kQueueWaitTrailer, "0");
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no pod");
        break;
      case kMalformedWaits:
        context->AddTrailingMetadata(kActivatorWaitTrailer, "12x");
        context->AddTrailingMetadata(kQueueWaitTrailer, "-5");
        break;
      default:
        break;
    }
    if (status.ok()) {
      response->set_pod("pod-a");
      response->set_spin_us(3000);
    }
    auto* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }
};

struct Rows : RowSink {
  void Record(Row&& row) override {
    std::lock_guard<std::mutex> lock(mu);
    rows.push_back(std::move(row));
  }
  std::mutex mu;
  std::vector<Row> rows;
};

class RouterWaitsTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    service_ = new WaitsService;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart().release();
  }
  static void TearDownTestSuite() {
    server_->Shutdown();
    delete server_;
    delete service_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    if (GetParam() == std::string("h2") && !HasH2Transport()) {
      GTEST_SKIP() << "built without nghttp2";
    }
  }

  // Sends `n` calls asking for `answer` and returns their rows.
  std::vector<Row> Call(Answer answer, int n) {
    absl::StatusOr<Target> target =
        Target::Parse(absl::StrCat("127.0.0.1:", port_));
    EXPECT_TRUE(target.ok());
    TransportOptions options{*target, 1, absl::Seconds(10), absl::Seconds(5),
                             answer};
    RealClock clock;
    Rows sink;
    std::unique_ptr<Transport> transport;
#ifdef KNBENCH_HAVE_NGHTTP2
    if (GetParam() == std::string("h2")) {
      transport =
          std::make_unique<H2Transport>(options, &clock, &sink, nullptr);
    }
#endif
    if (!transport) {
      transport =
          std::make_unique<GrpcTransport>(options, &clock, &sink, nullptr);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    EXPECT_EQ(transport->Connect(deadline, [] { return false; }).ready, 1);
    for (int i = 1; i <= n; ++i) {
      Arrival a;
      a.seq = i;
      const absl::Time now = clock.Now();
      transport->Send(a, now, now);
    }
    EXPECT_TRUE(transport->WaitIdle(deadline));
    transport.reset();
    std::lock_guard<std::mutex> lock(sink.mu);
    return sink.rows;
  }

  static WaitsService* service_;
  static grpc::Server* server_;
  static int port_;
};

WaitsService* RouterWaitsTest::service_ = nullptr;
grpc::Server* RouterWaitsTest::server_ = nullptr;
int RouterWaitsTest::port_ = 0;

// `n` rows, each with `status` and the waits `activator` and `queue`.
void ExpectRows(const std::vector<Row>& rows, size_t n, RowStatus status,
                int64_t activator, int64_t queue) {
  ASSERT_EQ(rows.size(), n);
  for (const Row& r : rows) {
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.waits.activator_us, activator);
    EXPECT_EQ(r.waits.queue_us, queue);
  }
}

TEST_P(RouterWaitsTest, OkAnswersCarryBothWaits) {
  const std::vector<Row> rows = Call(kOkWithWaits, 3);
  ExpectRows(rows, 3, RowStatus::kSuccess, 1500, 250);
  for (const Row& r : rows) EXPECT_EQ(r.server_spin_us, 3000);
}

TEST_P(RouterWaitsTest, TrailersOnlyFailuresCarryThem) {
  const std::vector<Row> rows = Call(kFailureWaitsOnly, 2);
  ExpectRows(rows, 2, RowStatus::kFailure, 7, 0);
  for (const Row& r : rows) {
    EXPECT_EQ(r.grpc_code, static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  }
}

TEST_P(RouterWaitsTest, MalformedWaitsAreIgnored) {
  ExpectRows(Call(kMalformedWaits, 2), 2, RowStatus::kSuccess, -1, -1);
}

TEST_P(RouterWaitsTest, NoRouterNoWaits) {
  const std::vector<Row> rows = Call(kNoWaits, 2);
  ExpectRows(rows, 2, RowStatus::kSuccess, -1, -1);
  for (const Row& r : rows) EXPECT_EQ(r.pod, "pod-a");
}

INSTANTIATE_TEST_SUITE_P(Transports, RouterWaitsTest,
                         ::testing::Values("h2", "grpc"));

}  // namespace
}  // namespace knbench::load_driver
