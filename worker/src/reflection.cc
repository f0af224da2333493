#include "knbench/worker/reflection.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"
#include "grpcpp/support/status.h"

namespace knbench::worker {
namespace {

namespace pb = ::google::protobuf;
namespace rf = ::grpc::reflection::v1alpha;

// `file` and, once each, every file it imports, directly or not.
void AddWithImports(const pb::FileDescriptor* file,
                    std::set<std::string>* added,
                    rf::FileDescriptorResponse* out) {
  if (!added->insert(file->name()).second) return;
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  out->add_file_descriptor_proto(proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddWithImports(file->dependency(i), added, out);
  }
}

void SetError(rf::ServerReflectionResponse* response, grpc::StatusCode code,
              std::string message) {
  rf::ErrorResponse* error = response->mutable_error_response();
  error->set_error_code(static_cast<int>(code));
  error->set_error_message(std::move(message));
}

}  // namespace

std::string ReflectionReply(absl::string_view bytes,
                            const std::vector<std::string>& services) {
  rf::ServerReflectionRequest request;
  rf::ServerReflectionResponse response;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    SetError(&response, grpc::StatusCode::INVALID_ARGUMENT,
             "not a grpc.reflection.v1alpha.ServerReflectionRequest");
    return response.SerializeAsString();
  }
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  const pb::FileDescriptor* file = nullptr;
  std::string asked;
  using Request = rf::ServerReflectionRequest;
  switch (request.message_request_case()) {
    case Request::kListServices:
      for (const std::string& name : services) {
        response.mutable_list_services_response()->add_service()->set_name(
            name);
      }
      return response.SerializeAsString();
    case Request::kFileByFilename:
      asked = absl::StrCat("file ", request.file_by_filename());
      file = pool->FindFileByName(request.file_by_filename());
      break;
    case Request::kFileContainingSymbol:
      asked = absl::StrCat("symbol ", request.file_containing_symbol());
      file = pool->FindFileContainingSymbol(request.file_containing_symbol());
      break;
    case Request::kFileContainingExtension: {
      const rf::ExtensionRequest& ext = request.file_containing_extension();
      asked = absl::StrCat("extension ", ext.extension_number(), " of ",
                           ext.containing_type());
      const pb::Descriptor* type =
          pool->FindMessageTypeByName(ext.containing_type());
      const pb::FieldDescriptor* field =
          type == nullptr
              ? nullptr
              : pool->FindExtensionByNumber(type, ext.extension_number());
      if (field != nullptr) file = field->file();
      break;
    }
    case Request::kAllExtensionNumbersOfType: {
      const pb::Descriptor* type =
          pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        SetError(&response, grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("type ", request.all_extension_numbers_of_type(),
                              " not found"));
        return response.SerializeAsString();
      }
      std::vector<const pb::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      rf::ExtensionNumberResponse* numbers =
          response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const pb::FieldDescriptor* e : extensions) {
        numbers->add_extension_number(e->number());
      }
      return response.SerializeAsString();
    }
    default:
      SetError(&response, grpc::StatusCode::UNIMPLEMENTED,
               "no question in the request");
      return response.SerializeAsString();
  }
  if (file == nullptr) {
    SetError(&response, grpc::StatusCode::NOT_FOUND,
             absl::StrCat(asked, " not found"));
  } else {
    std::set<std::string> added;
    AddWithImports(file, &added, response.mutable_file_descriptor_response());
  }
  return response.SerializeAsString();
}

}  // namespace knbench::worker
