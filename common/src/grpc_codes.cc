#include "knbench/common/grpc_codes.h"

namespace knbench {

const char* GrpcCodeName(int code) {
  static const char* const kNames[kGrpcCodeCount] = {"OK",
                                                     "CANCELLED",
                                                     "UNKNOWN",
                                                     "INVALID_ARGUMENT",
                                                     "DEADLINE_EXCEEDED",
                                                     "NOT_FOUND",
                                                     "ALREADY_EXISTS",
                                                     "PERMISSION_DENIED",
                                                     "RESOURCE_EXHAUSTED",
                                                     "FAILED_PRECONDITION",
                                                     "ABORTED",
                                                     "OUT_OF_RANGE",
                                                     "UNIMPLEMENTED",
                                                     "INTERNAL",
                                                     "UNAVAILABLE",
                                                     "DATA_LOSS",
                                                     "UNAUTHENTICATED"};
  if (code < 0) return "";
  return code < kGrpcCodeCount ? kNames[code] : "UNKNOWN";
}

}  // namespace knbench
