#include "knbench/worker/worker_server.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "knbench/common/net.h"

namespace knbench::worker {

WorkerServer::WorkerServer(WorkerOptions options,
                           std::shared_ptr<prometheus::Registry> registry)
    : service_(std::move(options), *registry) {}

WorkerServer::~WorkerServer() {
  if (server_) Shutdown(absl::ZeroDuration());
}

int MaxStreamsPerConnection(int max_inflight) {
  return max_inflight + kStreamsAboveMaxInflight;
}

absl::Status WorkerServer::Start(const std::string& address, int port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string target = JoinHostPort(address, port);
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service_);
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
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", target,
                     " (port in use or not permitted)"));
  }
  return absl::OkStatus();
}

void WorkerServer::Shutdown(absl::Duration grace) {
  if (!server_) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

}  // namespace knbench::worker
