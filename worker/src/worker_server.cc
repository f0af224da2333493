#include "knbench/worker/worker_server.h"

#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "knbench/common/net.h"
#include "knbench/worker/cq_tag.h"

namespace knbench::worker {

void PollUntilShutdown(grpc::CompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<CqTag*>(tag)->Run(ok);
}

WorkerServer::WorkerServer(WorkerOptions options,
                           std::shared_ptr<prometheus::Registry> registry)
    : service_(std::move(options), *registry),
      side_({load_worker::LoadWorker::service_full_name()}) {}

WorkerServer::~WorkerServer() {
  if (server_) Shutdown(absl::ZeroDuration());
}

int MaxStreamsPerConnection(int max_inflight) {
  return max_inflight + kStreamsAboveMaxInflight;
}

absl::Status WorkerServer::Start(const std::string& address, int port) {
  grpc::ServerBuilder builder;
  const std::string target = JoinHostPort(address, port);
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service_);
  side_.Register(&builder);
  // A busy port is an error, not a port shared with whoever holds it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Streams that never finish their request are held by the transport and
  // never reach the handler's --max-inflight check: bound them per
  // connection, and bound the memory gRPC buffers for all of them.
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      MaxStreamsPerConnection(service_.options().max_inflight));
  grpc::ResourceQuota quota("worker");
  quota.Resize(kGrpcMemoryQuotaBytes);
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  cq_ = builder.AddCompletionQueue();
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    cq_->Shutdown();
    PollUntilShutdown(cq_.get());
    cq_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", target,
                     " (port in use or not permitted)"));
  }
  service_.StartServing(cq_.get());
  side_.StartServing(cq_.get());
  poller_ = std::thread([cq = cq_.get()] {
    pthread_setname_np(pthread_self(), "worker-cq");
    PollUntilShutdown(cq);
  });
  return absl::OkStatus();
}

void WorkerServer::Shutdown(absl::Duration grace) {
  if (!server_) return;
  side_.SetNotServing();
  // Refuses new calls and waits for those in flight until the grace ends,
  // then cancels them, which stops their spins (the poller keeps running).
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  // gRPC is done with the calls, but a cancelled spin may not have answered
  // yet (it does within microseconds of its done notification): only then
  // may the queue close, or the answer would start on a closed queue.
  service_.live_calls().WaitNone();
  side_.live_calls().WaitNone();
  cq_->Shutdown();
  poller_.join();  // Once it has drained the queue.
  server_.reset();
  cq_.reset();
}

}  // namespace knbench::worker
