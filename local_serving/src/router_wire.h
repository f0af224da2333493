// The status the router's client side gives a pod's stream end, and the one
// a client that ended its own call saw (the wire formats themselves:
// knbench/common/grpc_wire.h). Pure functions, tested without a socket.
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_WIRE_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_WIRE_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace knbench::local_serving::wire {

// What a pod's stream ended with, as the router's client side saw it.
struct UpstreamEnd {
  uint32_t http2_error = 0;  // RST_STREAM's code; 0: closed normally
  int http_status = 0;       // :status; 0 if none came
  int grpc_status = -1;      // grpc-status; -1 if none
  std::string grpc_message;  // decoded
  bool too_big = false;      // the response passed the limit
};
// The status a gRPC client gives that end (its mapping of HTTP/2 errors and
// HTTP statuses).
grpc::Status StatusOf(const UpstreamEnd& end);

// The code a client that ended its own call saw: DEADLINE_EXCEEDED when its
// deadline was due (its own timer fires a moment before ours, as the
// timeout header travels), else CANCELLED.
grpc::StatusCode ClientEndCode(absl::Time deadline, absl::Time now);

}  // namespace knbench::local_serving::wire

#endif  // KNBENCH_LOCAL_SERVING_ROUTER_WIRE_H_
