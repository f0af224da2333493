#include "knbench/load_driver/grpc_transport.h"

#include <grpcpp/grpcpp.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "knbench/common/wait_trailers.h"

namespace knbench::load_driver {

// One call; its address is the queue tag of its answer.
class GrpcTransport::Call {
 public:
  grpc::ClientContext context;
  load_worker::WorkRequest request;
  load_worker::WorkResponse response;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<load_worker::WorkResponse>>
      reader;
  Outgoing outgoing;
  Call* prev = nullptr;
  Call* next = nullptr;
  // Owners: the call itself until its answer, plus CancelAll while it
  // cancels.
  std::atomic<int> refs{1};

  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

GrpcTransport::GrpcTransport(TransportOptions options, Clock* clock,
                             RowSink* sink, DriverMetrics* metrics)
    : Transport(std::move(options), clock, sink, metrics) {
  const int n = std::max(1, options_.connections);
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    // Distinct args plus a local pool: channels never share a connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("knbench.channel_index", i);
    // Reconnect quickly when a worker comes back (default backoff is 1s..120s).
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Despite its name this is gRPC's minimum connect timeout: at 100 ms a
    // server whose first bytes take longer could never be reached.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                static_cast<int>(std::min<int64_t>(
                    absl::ToInt64Milliseconds(options_.connect_timeout),
                    std::numeric_limits<int>::max())));
    auto channel = grpc::CreateCustomChannel(
        options_.target.text, grpc::InsecureChannelCredentials(), args);
    stubs_.push_back(load_worker::LoadWorker::NewStub(channel));
    channels_.push_back(std::move(channel));
  }
  poller_ = std::thread([this] { Poll(); });
}

GrpcTransport::~GrpcTransport() {
  CancelAll();
  WaitIdle(absl::Now() + absl::Seconds(10));
  cq_.Shutdown();
  poller_.join();
}

void GrpcTransport::Poll() {
  pthread_setname_np(pthread_self(), "driver-cq");
  void* tag = nullptr;
  bool ok = false;
  while (cq_.Next(&tag, &ok)) Done(static_cast<Call*>(tag));
}

ConnectResult GrpcTransport::Connect(absl::Time deadline,
                                     const std::function<bool()>& stop) {
  const absl::Time start = absl::Now();
  ConnectResult result;
  for (const auto& channel : channels_) {
    grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
    while (state != GRPC_CHANNEL_READY &&
           state != GRPC_CHANNEL_TRANSIENT_FAILURE && !stop() &&
           absl::Now() < deadline) {
      // Short waits, so that a stop request is seen promptly.
      channel->WaitForStateChange(
          state, absl::ToChronoTime(std::min(
                     deadline, absl::Now() + absl::Milliseconds(100))));
      state = channel->GetState(/*try_to_connect=*/true);
    }
    if (state == GRPC_CHANNEL_READY) ++result.ready;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) ++result.failed;
  }
  result.took = absl::Now() - start;
  return result;
}

void GrpcTransport::Send(const Arrival& a, absl::Time intended,
                         absl::Time actual) {
  Call* call = new Call;
  call->outgoing = {a, intended, actual, {}};
  call->request.set_duration_ms(options_.spin_ms);
  call->context.set_deadline(absl::ToChronoTime(actual + options_.timeout));
  if (Traced(&call->outgoing)) {
    call->context.AddMetadata(tracing::kTraceparentHeader,
                              tracing::FormatTraceparent(call->outgoing.trace));
  }
  Started();
  {
    std::lock_guard<std::mutex> lock(mu_);
    call->next = head_;
    if (head_) head_->prev = call;
    head_ = call;
  }
  auto& stub = stubs_[next_stub_];
  next_stub_ = next_stub_ + 1 == stubs_.size() ? 0 : next_stub_ + 1;
  call->reader =
      stub->PrepareAsyncInvokeWorker(&call->context, call->request, &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status_, call);
}

namespace {

// The router's waits, from the trailers (gRPC's library also files a
// trailers-only answer's metadata there).
RouterWaits WaitsOf(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto find = [&trailers](const char* name) -> int64_t {
    const auto it = trailers.find(name);
    if (it == trailers.end()) return -1;
    return ParseWaitMicros(
        absl::string_view(it->second.data(), it->second.size()));
  };
  return {find(kActivatorWaitTrailer), find(kQueueWaitTrailer)};
}

}  // namespace

void GrpcTransport::Done(Call* call) {
  const int64_t left =
      Ended(call->outgoing, static_cast<int>(call->status_.error_code()),
            &call->response, WaitsOf(call->context));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (call->prev) call->prev->next = call->next;
    if (call->next) call->next->prev = call->prev;
    if (head_ == call) head_ = call->next;
    if (left == 0) idle_cv_.notify_all();
  }
  call->Unref();
}

bool GrpcTransport::WaitIdle(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_until(lock, absl::ToChronoTime(deadline),
                             [this] { return inflight() == 0; });
}

void GrpcTransport::CancelAll() {
  // TryCancel takes gRPC's own locks: cancel outside ours, holding a
  // reference so that no call is freed under us.
  std::vector<Call*> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Call* c = head_; c != nullptr; c = c->next) {
      c->refs.fetch_add(1, std::memory_order_relaxed);
      calls.push_back(c);
    }
  }
  for (Call* c : calls) {
    c->context.TryCancel();
    c->Unref();
  }
}

}  // namespace knbench::load_driver
