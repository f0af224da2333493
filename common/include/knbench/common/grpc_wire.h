// gRPC over HTTP/2 as its protocol (PROTOCOL-HTTP2) writes it: the pieces
// that both nghttp2 users, the driver's transport and local_serving's
// router, need. Pure functions, tested without a socket.
#ifndef KNBENCH_COMMON_GRPC_WIRE_H_
#define KNBENCH_COMMON_GRPC_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace knbench::grpc_wire {

// grpc::StatusCode's values, for code that does not link gRPC (the rows
// record them as numbers).
enum Code {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kDeadlineExceeded = 4,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// A message's length prefix: a flag byte (1: compressed) and 4 bytes of
// length, big-endian.
inline constexpr size_t kPrefixBytes = 5;

// `body` as one uncompressed length-prefixed message.
std::string FrameMessage(absl::string_view body);
// The body length from a message's first kPrefixBytes bytes.
uint32_t MessageLength(absl::string_view prefix);

// The grpc-timeout value for `d`: at most 8 digits, in the finest unit that
// holds it, rounded up (at least 1n).
std::string GrpcTimeout(absl::Duration d);
// A grpc-timeout value ("100m", "5S"); nullopt if malformed.
std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value);

// grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
std::string PercentEncode(absl::string_view text);
std::string PercentDecode(absl::string_view text);

// The status code (grpc::StatusCode's value) a gRPC client gives a stream
// reset with HTTP/2 error `error`.
int CodeForHttp2Error(uint32_t error);
// ... and an answer with HTTP status `status` (not 200) and no grpc-status.
int CodeForHttpStatus(int status);

}  // namespace knbench::grpc_wire

#endif  // KNBENCH_COMMON_GRPC_WIRE_H_
