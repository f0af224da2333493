#include "knbench/local_serving/health_probe.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"

namespace knbench::local_serving {
namespace {

namespace health = ::grpc::health::v1;

// How long a probe waits for the pod's connection before its call: longer
// than the channel's reconnect backoff (at most 100 ms, below).
constexpr absl::Duration kConnectWait = absl::Milliseconds(150);

grpc::ByteBuffer Serialized(const google::protobuf::Message& message) {
  grpc::Slice slice(message.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

bool IsServing(const grpc::ByteBuffer& bytes) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return false;
  std::string flat;
  for (const grpc::Slice& s : slices) {
    flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  health::HealthCheckResponse response;
  return response.ParseFromString(flat) &&
         response.status() == health::HealthCheckResponse::SERVING;
}

}  // namespace

std::shared_ptr<grpc::Channel> PodChannel(const std::string& host, int port) {
  grpc::ChannelArguments args;
  // Reconnect fast while the worker starts, and never let the connection
  // idle out.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, INT_MAX);
  // Each pod gets its own connection, as each pod is its own host.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat(host, ":", port),
                                   grpc::InsecureChannelCredentials(), args);
}

bool GrpcHealthProbe::Serving(const std::string&,
                              const std::shared_ptr<grpc::Channel>& channel) {
  // gRPC reconnects (and fires its backoff timers) only while some thread
  // polls it; nothing else in local_serving does (the router is not on
  // gRPC), so the probe polls a moment for the connection first, else a
  // worker that began to listen is seen only by gRPC's 5 s backup poller.
  channel->WaitForConnected(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(std::min(timeout_, kConnectWait)));
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout_));
  // The server as a whole: an empty service name.
  const grpc::ByteBuffer request = Serialized(health::HealthCheckRequest());
  grpc::ByteBuffer response;
  grpc::Status status;
  auto reader = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                      request, &cq);
  reader->StartCall();
  reader->Finish(&response, &status, &cq);
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);  // the call's deadline bounds the wait
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status.ok() && IsServing(response);
}

}  // namespace knbench::local_serving
