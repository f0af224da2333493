// The router under odd, streaming, slow, large and late calls, and at
// shutdown: each call answered as the worker answers it, counted once under
// the code its client saw, and bounded.
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "knbench/local_serving/streaming_methods.h"
#include "knbench/testing/wait.h"
#include "router_fixture.h"

namespace knbench::local_serving {

RawResult RawCall(int port, const std::string& method,
                  const std::vector<std::string>& messages, bool half_close,
                  std::chrono::milliseconds timeout) {
  grpc::GenericStub stub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &cq);
  // One operation at a time: each waits for its own event.
  auto next = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  void* const tag = reinterpret_cast<void*>(1);
  call->StartCall(tag);
  next();
  for (const std::string& message : messages) {
    grpc::Slice slice(message);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, tag);
    if (!next()) break;
  }
  if (half_close) {
    call->WritesDone(tag);
    next();
  }
  RawResult result;
  for (;;) {
    grpc::ByteBuffer response;
    call->Read(&response, tag);
    if (!next()) break;
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    std::string flat;
    for (const grpc::Slice& s : slices) {
      flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    result.responses.push_back(std::move(flat));
  }
  call->Finish(&result.status, tag);
  next();
  cq.Shutdown();
  while (next()) {
  }
  return result;
}

namespace {

using ::knbench::testing::WaitUntil;
using ::testing::HasSubstr;

constexpr char kInvoke[] = "/load_worker.LoadWorker/InvokeWorker";

std::string WorkRequestBytes(int64_t spin_ms) {
  load_worker::WorkRequest request;
  request.set_duration_ms(spin_ms);
  return request.SerializeAsString();
}

// An odd request stream gets from the router what it gets from the worker,
// and is counted once.
TEST_F(RouterTest, OddBodiesAreAnsweredAsTheWorkerAnswersThem) {
  StartRouter({});
  AddPod("pod-a");
  const int worker = Worker("pod-a").port();
  const auto timeout = std::chrono::seconds(10);
  // No message: gRPC answers the worker's call itself.
  const RawResult direct_empty = RawCall(worker, kInvoke, {}, true, timeout);
  const RawResult empty = RawCall(port_, kInvoke, {}, true, timeout);
  EXPECT_EQ(direct_empty.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(empty.status.error_code(), direct_empty.status.error_code());
  EXPECT_EQ(empty.status.error_message(), direct_empty.status.error_message());
  // Two messages: the worker answers the first, as gRPC reads one.
  const std::vector<std::string> two = {WorkRequestBytes(1),
                                        WorkRequestBytes(2)};
  const RawResult direct_two = RawCall(worker, kInvoke, two, true, timeout);
  EXPECT_TRUE(direct_two.status.ok()) << direct_two.status.error_message();
  const RawResult double_message = RawCall(port_, kInvoke, two, true, timeout);
  EXPECT_EQ(double_message.status.error_code(), direct_two.status.error_code());
  ASSERT_EQ(double_message.responses.size(), direct_two.responses.size());
  load_worker::WorkResponse response;
  ASSERT_TRUE(response.ParseFromString(double_message.responses.at(0)));
  EXPECT_THAT(response.message(), HasSubstr("processed in 1 ms"));
  EXPECT_TRUE(WaitUntil(
      [&] {
        return observer_.count(grpc::StatusCode::INTERNAL) == 1 &&
               observer_.count(grpc::StatusCode::OK) == 1;
      },
      absl::Seconds(10)));
  EXPECT_EQ(observer_.total(), 2);
}

// A server-streaming call through a unary proxy would wait for an end that
// never comes, holding a pod: refused at once.
TEST_F(RouterTest, StreamingMethodsAreRefusedAtOnce) {
  EXPECT_THAT(StreamingMethods(),
              ::testing::Contains("/grpc.health.v1.Health/Watch"));
  EXPECT_FALSE(IsStreamingMethod(kInvoke));
  EXPECT_FALSE(IsStreamingMethod("/grpc.health.v1.Health/Check"));
  StartRouter({});
  AddPod("pod-a");
  grpc::health::v1::HealthCheckRequest check;
  const auto start = Stopwatch::now();
  const RawResult watch =
      RawCall(port_, "/grpc.health.v1.Health/Watch",
              {check.SerializeAsString()}, true, std::chrono::seconds(5));
  EXPECT_LT(Stopwatch::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(watch.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(watch.status.error_message(), HasSubstr("unary calls only"));
  EXPECT_TRUE(WaitUntil(
      [&] { return observer_.count(grpc::StatusCode::UNIMPLEMENTED) == 1; },
      absl::Seconds(10)));
  EXPECT_EQ(router_->snapshot().inflight, 0);
}

// The client's deadline passes while the pod spins: it saw
// DEADLINE_EXCEEDED, whichever of its cancel and the pod's answer came
// first.
TEST_F(RouterTest, ADeadlineAtThePodIsCountedAsTheClientSawIt) {
  StartRouter({});
  AddPod("pod-a");
  constexpr int kCalls = 20;
  std::vector<std::future<Result>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(CallAsync(60000, std::chrono::milliseconds(300)));
  }
  for (auto& f : calls) {
    EXPECT_EQ(f.get().status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_TRUE(WaitUntil([&] { return observer_.total() == kCalls; },
                        absl::Seconds(10)));
  EXPECT_EQ(observer_.count(grpc::StatusCode::DEADLINE_EXCEEDED), kCalls);
}

// A call whose deadline passes before its message arrives is counted too.
TEST_F(RouterTest, ACallThatEndsBeforeItsMessageIsCounted) {
  StartRouter({});
  AddPod("pod-a");
  const RawResult r =
      RawCall(port_, kInvoke, {}, false, std::chrono::milliseconds(300));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitUntil(
      [&] { return observer_.count(grpc::StatusCode::DEADLINE_EXCEEDED) == 1; },
      absl::Seconds(10)));
  EXPECT_EQ(observer_.total(), 1);
}

// A stream that never sends its message is answered once the message is
// late (by the router's clock), and counted.
TEST_F(RouterTest, AMessageThatNeverArrivesIsAnsweredWhenLate) {
  RouterOptions options;
  options.message_timeout = absl::Seconds(10);
  StartRouter(options);
  auto call = RawCallAsync({}, false, std::chrono::seconds(60));
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().reading == 1; },
                        absl::Seconds(10)));
  clock_.Advance(absl::Seconds(10));
  ASSERT_EQ(call.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const RawResult r = call.get();
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(r.status.error_message(), HasSubstr("did not arrive whole"));
  EXPECT_EQ(router_->snapshot().reading, 0);
  EXPECT_TRUE(WaitUntil(
      [&] { return observer_.count(grpc::StatusCode::DEADLINE_EXCEEDED) == 1; },
      absl::Seconds(10)));
}

// Calls waiting for their message wait as queued calls do: with those,
// within the queue depth.
TEST_F(RouterTest, CallsWaitingForTheirMessageCountAgainstTheQueueDepth) {
  RouterOptions options;
  options.queue_depth = 3;
  StartRouter(options);
  // Deadlines long enough that all three still wait when the fourth comes.
  auto queued = CallAsync(1, std::chrono::seconds(3));
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 1; },
                        absl::Seconds(10)));
  const auto deadline = std::chrono::seconds(3);
  std::future<RawResult> silent[] = {RawCallAsync({}, false, deadline),
                                     RawCallAsync({}, false, deadline)};
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().reading == 2; },
                        absl::Seconds(10)));
  const RawResult over =
      RawCall(port_, kInvoke, {}, false, std::chrono::seconds(10));
  EXPECT_EQ(over.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(over.status.error_message(), HasSubstr("queue is full"));
  for (auto& f : silent) {
    EXPECT_EQ(f.get().status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_EQ(queued.get().status.error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

// A message over the size limit, and messages beyond the budget of what the
// router holds, are refused; what is held is given back as calls end.
TEST_F(RouterTest, MessageSizeAndTheBufferBudgetAreBounded) {
  RouterOptions options;
  options.max_message_bytes = 2000;
  options.message_budget_bytes = 2500;
  StartRouter(options);  // no pod: every call waits in the activator
  const std::string kilobyte(1000, 'x');
  const RawResult big = RawCall(port_, kInvoke, {std::string(2001, 'x')}, true,
                                std::chrono::seconds(10));
  EXPECT_EQ(big.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(big.status.error_message(), HasSubstr("at most 2000"));
  std::vector<std::future<RawResult>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(
        RawCallAsync({kilobyte}, true, std::chrono::milliseconds(1500)));
  }
  ASSERT_TRUE(
      WaitUntil([&] { return router_->snapshot().message_bytes == 2000; },
                absl::Seconds(10)));
  const RawResult over =
      RawCall(port_, kInvoke, {kilobyte}, true, std::chrono::seconds(10));
  EXPECT_EQ(over.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(over.status.error_message(), HasSubstr("budget"));
  for (auto& f : held) {
    EXPECT_EQ(f.get().status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_TRUE(
      WaitUntil([&] { return observer_.total() == 4; }, absl::Seconds(10)));
  EXPECT_EQ(router_->snapshot().message_bytes, 0);
  EXPECT_EQ(observer_.count(grpc::StatusCode::RESOURCE_EXHAUSTED), 1);
  EXPECT_EQ(observer_.count(grpc::StatusCode::UNAVAILABLE), 1);
  EXPECT_EQ(observer_.count(grpc::StatusCode::DEADLINE_EXCEEDED), 2);
}

// Headers past the limit are refused (the router would hold them while the
// call waits), and counted; a call just within it goes through.
TEST_F(RouterTest, HeadersBeyondTheLimitAreRefused) {
  StartRouter({});
  AddPod("pod-a");
  auto call = [&](size_t value_bytes) {
    load_worker::LoadWorker::Stub stub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("x-big", std::string(value_bytes, 'a'));
    load_worker::WorkRequest request;
    load_worker::WorkResponse response;
    return stub.InvokeWorker(&context, request, &response);
  };
  const grpc::Status big = call(kMaxMetadataBytes);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(big.error_message(), HasSubstr("headers of"));
  EXPECT_TRUE(call(kMaxMetadataBytes / 2).ok());
  EXPECT_TRUE(WaitUntil(
      [&] {
        return observer_.count(grpc::StatusCode::RESOURCE_EXHAUSTED) == 1 &&
               observer_.count(grpc::StatusCode::OK) == 1;
      },
      absl::Seconds(10)));
}

// At the end of a shutdown's grace, a call at a pod and a queued one get
// UNAVAILABLE, the pod stops spinning, and later calls are refused.
TEST_F(RouterTest, AbortAnswersEveryCallLeftUnavailable) {
  RouterOptions options;
  options.container_concurrency = 1;
  StartRouter(options);
  AddPod("pod-a");
  auto at_pod = CallAsync(60000);
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().inflight == 1; },
                        absl::Seconds(10)));
  auto queued = CallAsync(1);
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 1; },
                        absl::Seconds(10)));
  router_->AbortAt(absl::Now());
  for (auto* f : {&at_pod, &queued}) {
    const Result r = f->get();
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(r.status.error_message(), HasSubstr("shutting down"));
  }
  EXPECT_TRUE(
      WaitUntil([&] { return Worker("pod-a").service().inflight() == 0; },
                absl::Seconds(5)));
  EXPECT_EQ(CallAsync(1).get().status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(WaitUntil(
      [&] { return observer_.count(grpc::StatusCode::UNAVAILABLE) == 3; },
      absl::Seconds(10)));
  EXPECT_EQ(observer_.total(), 3);
}

}  // namespace
}  // namespace knbench::local_serving
