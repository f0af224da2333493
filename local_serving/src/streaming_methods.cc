#include "knbench/local_serving/streaming_methods.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"
#include "load_worker.pb.h"

namespace knbench::local_serving {
namespace {

// Named through one message of each file, so the linker keeps every file's
// description.
const std::vector<std::string>& Paths() {
  static const auto* paths = [] {
    auto* out = new std::vector<std::string>;
    for (const google::protobuf::FileDescriptor* file :
         {load_worker::WorkRequest::descriptor()->file(),
          grpc::health::v1::HealthCheckRequest::descriptor()->file(),
          grpc::reflection::v1alpha::ServerReflectionRequest::descriptor()
              ->file()}) {
      for (int s = 0; s < file->service_count(); ++s) {
        const google::protobuf::ServiceDescriptor* service = file->service(s);
        for (int m = 0; m < service->method_count(); ++m) {
          const google::protobuf::MethodDescriptor* method = service->method(m);
          if (method->client_streaming() || method->server_streaming()) {
            out->push_back(
                absl::StrCat("/", service->full_name(), "/", method->name()));
          }
        }
      }
    }
    std::sort(out->begin(), out->end());
    return out;
  }();
  return *paths;
}

}  // namespace

bool IsStreamingMethod(absl::string_view path) {
  const std::vector<std::string>& paths = Paths();
  return std::binary_search(paths.begin(), paths.end(), path);
}

std::vector<std::string> StreamingMethods() { return Paths(); }

}  // namespace knbench::local_serving
