// gRPC over HTTP/2 as the router meets it (gRPC's PROTOCOL-HTTP2): the
// grpc-timeout header, grpc-message's percent-encoding, and the status a
// gRPC client gives a stream's end. Pure functions, tested without a socket.
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_WIRE_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace knbench::local_serving::wire {

// The length prefix of a gRPC message: a flag byte and 4 bytes of length.
inline constexpr size_t kPrefixBytes = 5;

// A grpc-timeout value ("100m", "5S": at most 8 digits and a unit);
// nullopt if malformed.
std::optional<absl::Duration> ParseTimeout(absl::string_view value);
// `d` as a grpc-timeout value, rounded up (at least 1 ms).
std::string TimeoutValue(absl::Duration d);

// The body length of a message from its 5-byte prefix.
uint32_t MessageLength(absl::string_view prefix);

// grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
std::string PercentEncode(absl::string_view text);
std::string PercentDecode(absl::string_view text);

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
