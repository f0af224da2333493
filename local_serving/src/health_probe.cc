#include "knbench/local_serving/health_probe.h"

#include <chrono>
#include <vector>

#include "grpc/health/v1/health.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace knbench::local_serving {
namespace {

namespace health = ::grpc::health::v1;

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

bool GrpcHealthProbe::Serving(const std::string&,
                              const std::shared_ptr<grpc::Channel>& channel) {
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
