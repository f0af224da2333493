// The router over real gRPC on loopback, with in-process workers as pods.
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "knbench/common/wait_trailers.h"
#include "knbench/testing/wait.h"
#include "router_fixture.h"

namespace knbench::local_serving {
namespace {

using ::knbench::testing::WaitUntil;
using ::testing::HasSubstr;

// The router's waits as its trailers say them: activator, queue-proxy.
std::pair<std::string, std::string> Waits(const Result& r) {
  auto get = [&](const char* key) {
    auto it = r.trailers.find(key);
    return it == r.trailers.end() ? std::string("missing") : it->second;
  };
  return {get(kActivatorWaitTrailer), get(kQueueWaitTrailer)};
}

TEST_F(RouterTest, ForwardsAnyMethodToAPod) {
  StartRouter({});
  AddPod("pod-a");
  Result r = CallAsync(5).get();
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.pod, "pod-a");
  // Any method is forwarded: one the pod does not serve comes back from it.
  grpc::GenericStub generic(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // an empty message
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, "/load_worker.LoadWorker/NoSuchMethod",
                    grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) { done.set_value(s); });
  EXPECT_EQ(done.get_future().get().error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Counted once gRPC is done with each call.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return observer_.count(grpc::StatusCode::OK) == 1 &&
               observer_.count(grpc::StatusCode::UNIMPLEMENTED) == 1;
      },
      absl::Seconds(10)));
}

TEST_F(RouterTest, CallsWaitForTheFirstPodAndAllSucceed) {
  // Scale from zero: nothing is ready, every call waits in the activator,
  // and all are sent once a pod is.
  StartRouter({});
  std::vector<std::future<Result>> calls;
  for (int i = 0; i < 20; ++i) calls.push_back(CallAsync(1));
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 20; },
                        absl::Seconds(10)));
  clock_.Advance(absl::Milliseconds(300));  // the wait shows in latency
  AddPod("pod-a");
  for (auto& f : calls) {
    const Result r = f.get();
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    // The cold start, by the router's clock, is the activator's wait.
    EXPECT_EQ(Waits(r),
              std::make_pair(std::string("300000"), std::string("0")));
  }
  EXPECT_EQ(router_->snapshot().queued, 0);
  ASSERT_TRUE(
      WaitUntil([&] { return observer_.total() == 20; }, absl::Seconds(10)));
  EXPECT_EQ(observer_.count(grpc::StatusCode::OK), 20);
  for (absl::Duration latency : observer_.latencies()) {
    EXPECT_EQ(latency, absl::Milliseconds(300));
  }
}

TEST_F(RouterTest, FullQueueAndDeadlinesAreAnsweredNotLost) {
  RouterOptions options;
  options.queue_depth = 3;
  StartRouter(options);
  std::vector<std::future<Result>> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(CallAsync(1, std::chrono::milliseconds(500)));
  }
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 3; },
                        absl::Seconds(10)));
  const Result overflow = CallAsync(1).get();
  EXPECT_EQ(overflow.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(overflow.status.error_message(), HasSubstr("queue is full"));
  // Answered by the router, with the waits it had: none.
  EXPECT_EQ(Waits(overflow),
            std::make_pair(std::string("0"), std::string("0")));
  for (auto& f : waiting) {
    EXPECT_EQ(f.get().status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // The router took them out of its queue and counted each once.
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 0; },
                        absl::Seconds(10)));
  EXPECT_TRUE(WaitUntil(
      [&] {
        return observer_.count(grpc::StatusCode::DEADLINE_EXCEEDED) == 3 &&
               observer_.count(grpc::StatusCode::UNAVAILABLE) == 1;
      },
      absl::Seconds(10)));
  EXPECT_EQ(stats_->in_system(), 0);
}

TEST_F(RouterTest, ContainerConcurrencyQueuesUntilAPodIsFree) {
  // CC 1, activator in the path: 4 calls of 200 ms on one pod run one after
  // another; with a second pod they take half as long.
  RouterOptions options;
  options.container_concurrency = 1;
  StartRouter(options);
  AddPod("pod-a");
  std::vector<std::future<Result>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(CallAsync(200));
  double slowest = 0;
  for (auto& f : calls) {
    const Result r = f.get();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    slowest = std::max(slowest, r.seconds);
  }
  EXPECT_GE(slowest, 0.8);
  AddPod("pod-b");
  calls.clear();
  for (int i = 0; i < 4; ++i) calls.push_back(CallAsync(200));
  std::map<std::string, int> per_pod;
  for (auto& f : calls) {
    const Result r = f.get();
    ASSERT_TRUE(r.status.ok());
    ++per_pod[r.pod];
  }
  EXPECT_EQ(per_pod["pod-a"], 2);
  EXPECT_EQ(per_pod["pod-b"], 2);
}

TEST_F(RouterTest, OutOfThePathQueueProxyQueuesAndRemovalRequeues) {
  // Activator out of the path, CC 1: the service alternates pods and each
  // pod's queue-proxy holds what it cannot take. Removing a pod sends its
  // queued calls elsewhere; none is lost.
  RouterOptions options;
  options.container_concurrency = 1;
  StartRouter(options);
  AddPod("pod-a");
  AddPod("pod-b");
  router_->SetActivatorInPath(false);
  std::vector<std::future<Result>> calls;
  for (int i = 0; i < 6; ++i) calls.push_back(CallAsync(300));
  ASSERT_TRUE(WaitUntil(
      [&] {
        const Router::Snapshot s = router_->snapshot();
        return s.inflight == 2 && s.queued == 4;
      },
      absl::Seconds(10)));
  router_->RemovePod("pod-b");
  std::map<std::string, int> per_pod;
  for (auto& f : calls) {
    const Result r = f.get();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    ++per_pod[r.pod];
  }
  // pod-b finished the call it had; the two it queued went to pod-a.
  EXPECT_EQ(per_pod["pod-b"], 1);
  EXPECT_EQ(per_pod["pod-a"], 5);
}

TEST_F(RouterTest, WaitsInTheQueueProxyAndTheActivatorAreTrailers) {
  // CC 1, out of the path: the second call waits 200 ms in pod-a's
  // queue-proxy, goes back to the activator when pod-a leaves, waits 500 ms
  // there for pod-b. The first call, at pod-a throughout, waited nowhere.
  RouterOptions options;
  options.container_concurrency = 1;
  StartRouter(options);
  AddPod("pod-a");
  router_->SetActivatorInPath(false);
  auto first = CallAsync(300);
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().inflight == 1; },
                        absl::Seconds(10)));
  auto second = CallAsync(1);
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 1; },
                        absl::Seconds(10)));
  clock_.Advance(absl::Milliseconds(200));
  router_->RemovePod("pod-a");
  clock_.Advance(absl::Milliseconds(500));
  AddPod("pod-b");
  const Result r2 = second.get();
  ASSERT_TRUE(r2.status.ok()) << r2.status.error_message();
  EXPECT_EQ(r2.pod, "pod-b");
  EXPECT_EQ(Waits(r2),
            std::make_pair(std::string("500000"), std::string("200000")));
  const Result r1 = first.get();
  ASSERT_TRUE(r1.status.ok()) << r1.status.error_message();
  EXPECT_EQ(r1.pod, "pod-a");
  EXPECT_EQ(Waits(r1), std::make_pair(std::string("0"), std::string("0")));
}

TEST_F(RouterTest, CancellationReachesThePod) {
  StartRouter({});
  AddPod("pod-a");
  auto call = CallAsync(60000, std::chrono::milliseconds(300));
  const Result r = call.get();
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The worker stops spinning once its caller (the router) gives up.
  EXPECT_TRUE(
      WaitUntil([&] { return Worker("pod-a").service().inflight() == 0; },
                absl::Seconds(5)));
  EXPECT_TRUE(WaitUntil([&] { return router_->snapshot().inflight == 0; },
                        absl::Seconds(5)));
}

TEST_F(RouterTest, StatsCountEveryCallFromArrivalToAnswer) {
  StartRouter({});
  AddPod("pod-a");
  std::vector<std::future<Result>> calls;
  for (int i = 0; i < 5; ++i) calls.push_back(CallAsync(100));
  for (auto& f : calls) ASSERT_TRUE(f.get().status.ok());
  const absl::Time now = clock_.Now();
  int64_t arrivals = 0;
  for (const auto& s : stats_->TakeEnded(now)) arrivals += s.arrivals;
  arrivals += stats_->Open(now).arrivals;
  EXPECT_EQ(arrivals, 5);
  EXPECT_EQ(stats_->in_system(), 0);
}

// The router times each call by its clock, from arrival to answer: what the
// autoscaler's per-second concurrency and the latency metric are made of.
TEST_F(RouterTest, TimeInTheSystemIsMeasuredByTheRoutersClock) {
  StartRouter({});
  const absl::Time start = clock_.Now();
  clock_.Advance(absl::Milliseconds(500));
  auto call = CallAsync(0);
  ASSERT_TRUE(WaitUntil([&] { return router_->snapshot().queued == 1; },
                        absl::Seconds(10)));
  clock_.Advance(absl::Seconds(2));  // waits for a pod from 0.5 s to 2.5 s
  AddPod("pod-a");
  ASSERT_TRUE(call.get().status.ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return stats_->in_system() == 0 && observer_.total() == 1; },
      absl::Seconds(10)));
  EXPECT_THAT(observer_.latencies(), ::testing::ElementsAre(absl::Seconds(2)));
  const std::vector<SecondStats::Second> seconds =
      stats_->TakeEnded(start + absl::Seconds(3));
  ASSERT_EQ(seconds.size(), 3u);
  EXPECT_DOUBLE_EQ(seconds[0].concurrency, 0.5);
  EXPECT_EQ(seconds[0].arrivals, 1);
  EXPECT_DOUBLE_EQ(seconds[1].concurrency, 1.0);
  EXPECT_EQ(seconds[1].arrivals, 0);
  EXPECT_DOUBLE_EQ(seconds[2].concurrency, 0.5);
  EXPECT_EQ(seconds[2].arrivals, 0);
}

}  // namespace
}  // namespace knbench::local_serving
