// Which gRPC methods stream: the router proxies unary calls only, and gRPC's
// wire does not say whether a call is unary, so it refuses at once the
// methods it knows to stream. It knows those of the protocols the worker
// serves (load_worker.LoadWorker, grpc.health.v1.Health,
// grpc.reflection.v1alpha.ServerReflection), from their descriptions as
// compiled from proto/.
#ifndef KNBENCH_LOCAL_SERVING_STREAMING_METHODS_H_
#define KNBENCH_LOCAL_SERVING_STREAMING_METHODS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace knbench::local_serving {

// `path` as gRPC names a call's method ("/grpc.health.v1.Health/Watch"):
// true if it streams requests, responses or both. A method it does not know
// is taken as unary.
bool IsStreamingMethod(absl::string_view path);

// Every known streaming method's path, sorted (for the docs and tests).
std::vector<std::string> StreamingMethods();

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_STREAMING_METHODS_H_
