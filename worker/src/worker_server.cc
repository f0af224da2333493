#include "knbench/worker/worker_server.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace knbench::worker {

WorkerServer::WorkerServer(WorkerOptions options,
                           std::shared_ptr<prometheus::Registry> registry)
    : service_(std::move(options), *registry) {}

WorkerServer::~WorkerServer() {
  if (server_) Shutdown(absl::ZeroDuration());
}

absl::Status WorkerServer::Start(const std::string& address, int port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string target = absl::StrCat(address, ":", port);
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service_);
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
