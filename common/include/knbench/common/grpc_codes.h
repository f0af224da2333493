#ifndef KNBENCH_COMMON_GRPC_CODES_H_
#define KNBENCH_COMMON_GRPC_CODES_H_

namespace knbench {

// gRPC's status codes are 0 (OK) .. 16 (UNAUTHENTICATED).
inline constexpr int kGrpcCodeCount = 17;

// The gRPC status code's canonical name, e.g. "DEADLINE_EXCEEDED"; "" for a
// negative code (no status: not sent) and "UNKNOWN" above 16.
const char* GrpcCodeName(int code);

}  // namespace knbench

#endif  // KNBENCH_COMMON_GRPC_CODES_H_
