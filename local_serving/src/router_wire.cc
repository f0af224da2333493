#include "router_wire.h"

#include <nghttp2/nghttp2.h>

#include "absl/strings/str_cat.h"
#include "knbench/common/grpc_wire.h"

namespace knbench::local_serving::wire {
namespace {

// How early a client's deadline may fire before ours and still be a
// deadline, not a cancellation.
constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(250);

}  // namespace

grpc::Status StatusOf(const UpstreamEnd& end) {
  using grpc::StatusCode;
  if (end.too_big) {
    return grpc::Status(StatusCode::RESOURCE_EXHAUSTED,
                        "local_serving: the pod's response is too large");
  }
  const auto code = [](int value) { return static_cast<StatusCode>(value); };
  if (end.http2_error != NGHTTP2_NO_ERROR) {
    return grpc::Status(code(grpc_wire::CodeForHttp2Error(end.http2_error)),
                        absl::StrCat("the pod reset the stream (HTTP/2 error ",
                                     end.http2_error, ")"));
  }
  if (end.http_status != 200) {
    // No :status at all: the stream ended before the pod answered.
    return grpc::Status(
        end.http_status == 0
            ? StatusCode::UNAVAILABLE
            : code(grpc_wire::CodeForHttpStatus(end.http_status)),
        absl::StrCat("the pod answered HTTP ", end.http_status));
  }
  if (end.grpc_status < 0 || end.grpc_status > 16) {
    return grpc::Status(StatusCode::UNKNOWN, "the pod sent no grpc-status");
  }
  return grpc::Status(static_cast<StatusCode>(end.grpc_status),
                      end.grpc_message);
}

grpc::StatusCode ClientEndCode(absl::Time deadline, absl::Time now) {
  return deadline <= now + kDeadlineSlack ? grpc::StatusCode::DEADLINE_EXCEEDED
                                          : grpc::StatusCode::CANCELLED;
}

}  // namespace knbench::local_serving::wire
