// gRPC over HTTP/2 as the protocol specifies it (PROTOCOL-HTTP2), for the
// driver's own transport: the request's framing and headers, and how an
// answer's HTTP/2 and gRPC fields become a status. Pure functions of bytes
// and numbers, so they are tested without a socket.
#ifndef KNBENCH_LOAD_DRIVER_SRC_H2_WIRE_H_
#define KNBENCH_LOAD_DRIVER_SRC_H2_WIRE_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace load_worker {
class WorkResponse;
}

namespace knbench::load_driver::h2 {

inline constexpr char kPath[] = "/load_worker.LoadWorker/InvokeWorker";
inline constexpr char kUserAgent[] = "knbench-load-driver nghttp2";
// gRPC's default limit on a received message.
inline constexpr size_t kMaxResponseBytes = size_t{4} << 20;

// What the client saw of one stream when it closed.
struct StreamEnd {
  uint32_t http2_error = 0;  // RST_STREAM's code; 0: closed normally
  int http_status = 0;       // :status; 0 if none came
  int grpc_status = -1;      // grpc-status from the trailers; -1 if none
  bool too_big = false;      // the answer passed kMaxResponseBytes
  absl::string_view data;    // the DATA bytes
};

// The call's status as gRPC's client gives it, and for OK the response
// parsed into `response` (a message that does not parse is INTERNAL).
int StatusOf(const StreamEnd& end, load_worker::WorkResponse* response);

}  // namespace knbench::load_driver::h2

#endif  // KNBENCH_LOAD_DRIVER_SRC_H2_WIRE_H_
