#include "h2_wire.h"

#include <nghttp2/nghttp2.h>

#include "knbench/common/grpc_wire.h"
#include "load_worker.pb.h"

namespace knbench::load_driver::h2 {
namespace {

// The one message of an answer: flag 0 (we accept no encoding), its
// length, then exactly that many bytes of WorkResponse.
bool ParseMessage(absl::string_view d, load_worker::WorkResponse* response) {
  using grpc_wire::kPrefixBytes;
  if (d.size() < kPrefixBytes || d[0] != 0) return false;
  const uint32_t length = grpc_wire::MessageLength(d);
  return d.size() == kPrefixBytes + size_t{length} &&
         response->ParseFromArray(d.data() + kPrefixBytes,
                                  static_cast<int>(length));
}

}  // namespace

int StatusOf(const StreamEnd& end, load_worker::WorkResponse* response) {
  if (end.too_big) return grpc_wire::kResourceExhausted;
  if (end.http2_error != NGHTTP2_NO_ERROR) {
    return grpc_wire::CodeForHttp2Error(end.http2_error);
  }
  if (end.http_status != 200) {
    return grpc_wire::CodeForHttpStatus(end.http_status);
  }
  if (end.grpc_status < 0)
    return grpc_wire::kUnknown;  // No status in the trailers.
  if (end.grpc_status != grpc_wire::kOk) return end.grpc_status;
  return ParseMessage(end.data, response) ? grpc_wire::kOk
                                          : grpc_wire::kInternal;
}

}  // namespace knbench::load_driver::h2
