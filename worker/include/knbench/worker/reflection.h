#ifndef KNBENCH_WORKER_REFLECTION_H_
#define KNBENCH_WORKER_REFLECTION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace knbench::worker {

// The method of gRPC's server reflection protocol (what grpcurl asks).
inline constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
inline constexpr char kReflectionService[] =
    "grpc.reflection.v1alpha.ServerReflection";

// Answers one serialized ServerReflectionRequest: `services` for
// list_services, and for the file queries the protobuf descriptors linked
// into this binary (a file comes with all the files it imports). Returns
// the serialized ServerReflectionResponse; a question it cannot answer, or
// bytes that are not a request, get an error_response.
std::string ReflectionReply(absl::string_view request,
                            const std::vector<std::string>& services);

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_REFLECTION_H_
