// The router over real gRPC on loopback, with in-process workers as pods:
// the fixture its tests share.
#ifndef KNBENCH_LOCAL_SERVING_TESTS_ROUTER_FIXTURE_H_
#define KNBENCH_LOCAL_SERVING_TESTS_ROUTER_FIXTURE_H_

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "knbench/local_serving/router.h"
#include "knbench/testing/fake_clock.h"
#include "knbench/worker/worker_server.h"
#include "load_worker.grpc.pb.h"

namespace knbench::local_serving {

class CountingObserver : public RouterObserver {
 public:
  void OnCallDone(grpc::StatusCode code, bool via_activator, bool,
                  absl::Duration latency) override {
    absl::MutexLock lock(&mu_);
    ++codes_[code];
    if (via_activator) ++via_activator_;
    latencies_.push_back(latency);
  }
  int count(grpc::StatusCode code) {
    absl::MutexLock lock(&mu_);
    return codes_[code];
  }
  int total() {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& [code, count] : codes_) n += count;
    return n;
  }
  // The router's time from arrival to answer, by its clock.
  std::vector<absl::Duration> latencies() {
    absl::MutexLock lock(&mu_);
    return latencies_;
  }

 private:
  absl::Mutex mu_;
  std::map<grpc::StatusCode, int> codes_;
  int via_activator_ = 0;
  std::vector<absl::Duration> latencies_;
};

struct Result {
  grpc::Status status;
  std::string pod;
  double seconds = 0;
  std::map<std::string, std::string> trailers;  // the call's trailing metadata
};

// A call through gRPC's generic API with exactly `messages` as its request
// stream, half-closed after them or left open: what a client that
// misbehaves, or streams, sends. Its status and the responses it got.
struct RawResult {
  grpc::Status status;
  std::vector<std::string> responses;
};
RawResult RawCall(int port, const std::string& method,
                  const std::vector<std::string>& messages, bool half_close,
                  std::chrono::milliseconds timeout);

class RouterTest : public ::testing::Test {
 protected:
  // The client's own stopwatch: real time, whatever the router's clock says.
  using Stopwatch = std::chrono::steady_clock;

  void StartRouter(RouterOptions options) {
    stats_ = std::make_unique<SecondStats>(clock_.Now());
    router_ =
        std::make_unique<Router>(options, stats_.get(), &observer_, &clock_);
    absl::StatusOr<int> port = router_->Listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    router_->SetTracing(tracing_);
    router_->Start();
    stub_ = load_worker::LoadWorker::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  }

  // An in-process worker as a pod, connected and added to the router.
  void AddPod(const std::string& name) {
    worker::WorkerOptions options;
    options.instance_name = name;
    // The worker's metrics live in the registry: keep it as long.
    registries_.push_back(std::make_shared<prometheus::Registry>());
    auto worker =
        std::make_unique<worker::WorkerServer>(options, registries_.back());
    ASSERT_TRUE(worker->Start("127.0.0.1", 0).ok());
    router_->AddPod(name, absl::StrCat("127.0.0.1:", worker->port()));
    workers_[name] = std::move(worker);
  }

  worker::WorkerServer& Worker(const std::string& name) {
    return *workers_.at(name);
  }

  std::future<Result> CallAsync(
      int64_t spin_ms,
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return std::async(std::launch::async, [this, spin_ms, timeout] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + timeout);
      load_worker::WorkRequest request;
      request.set_duration_ms(spin_ms);
      load_worker::WorkResponse response;
      const auto start = Stopwatch::now();
      Result r;
      r.status = stub_->InvokeWorker(&context, request, &response);
      r.seconds =
          std::chrono::duration<double>(Stopwatch::now() - start).count();
      r.pod = response.pod();
      for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
        r.trailers.emplace(std::string(key.data(), key.size()),
                           std::string(value.data(), value.size()));
      }
      return r;
    });
  }

  // RawCall of LoadWorker/InvokeWorker through the router, on a thread.
  std::future<RawResult> RawCallAsync(std::vector<std::string> messages,
                                      bool half_close,
                                      std::chrono::milliseconds timeout) {
    return std::async(std::launch::async, [=] {
      return RawCall(port_, "/load_worker.LoadWorker/InvokeWorker", messages,
                     half_close, timeout);
    });
  }

  void TearDown() override {
    if (router_) router_->Stop();
    for (auto& [name, w] : workers_) w->Shutdown(absl::ZeroDuration());
  }

  int port_ = 0;
  ::knbench::testing::FakeClock
      clock_;  // the router's: time passes when a test says so
  CountingObserver observer_;
  RouterTracing tracing_;  // set before StartRouter to trace
  std::unique_ptr<SecondStats> stats_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<load_worker::LoadWorker::Stub> stub_;
  std::vector<std::shared_ptr<prometheus::Registry>> registries_;
  std::map<std::string, std::unique_ptr<worker::WorkerServer>> workers_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_TESTS_ROUTER_FIXTURE_H_
