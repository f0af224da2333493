#include "h2_wire.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "load_worker.pb.h"

namespace knbench::load_driver::h2 {
namespace {

// gRPC's mapping of an HTTP/2 RST_STREAM error to a status.
int CodeForHttp2Error(uint32_t error) {
  switch (error) {
    case NGHTTP2_REFUSED_STREAM:
      return kUnavailable;
    case NGHTTP2_CANCEL:
      return kCancelled;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return kResourceExhausted;
    case NGHTTP2_INADEQUATE_SECURITY:
      return kPermissionDenied;
    default:
      return kInternal;
  }
}

// gRPC's mapping of a non-200 HTTP status without grpc-status.
int CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return kInternal;
    case 401:
      return kUnauthenticated;
    case 403:
      return kPermissionDenied;
    case 404:
      return kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kUnavailable;
    default:
      return kUnknown;
  }
}

// The one message of an answer: flag 0 (we accept no encoding), its
// length, then exactly that many bytes of WorkResponse.
bool ParseMessage(absl::string_view d, load_worker::WorkResponse* response) {
  if (d.size() < 5 || d[0] != 0) return false;
  const uint32_t length = (uint32_t{static_cast<uint8_t>(d[1])} << 24) |
                          (uint32_t{static_cast<uint8_t>(d[2])} << 16) |
                          (uint32_t{static_cast<uint8_t>(d[3])} << 8) |
                          uint32_t{static_cast<uint8_t>(d[4])};
  return d.size() == 5 + size_t{length} &&
         response->ParseFromArray(d.data() + 5, static_cast<int>(length));
}

}  // namespace

std::string GrpcTimeout(absl::Duration d) {
  struct Unit {
    absl::Duration size;
    char name;
  };
  for (const Unit& u :
       {Unit{absl::Nanoseconds(1), 'n'}, Unit{absl::Microseconds(1), 'u'},
        Unit{absl::Milliseconds(1), 'm'}, Unit{absl::Seconds(1), 'S'},
        Unit{absl::Minutes(1), 'M'}, Unit{absl::Hours(1), 'H'}}) {
    const int64_t n = absl::ToInt64Nanoseconds(absl::Ceil(d, u.size)) /
                      absl::ToInt64Nanoseconds(u.size);
    if (n <= 99999999) {
      return absl::StrCat(std::max<int64_t>(n, 1), std::string(1, u.name));
    }
  }
  return "99999999H";
}

std::string FrameMessage(absl::string_view body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out = {'\0', static_cast<char>(n >> 24),
                     static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                     static_cast<char>(n)};
  out.append(body.data(), body.size());
  return out;
}

int StatusOf(const StreamEnd& end, load_worker::WorkResponse* response) {
  if (end.too_big) return kResourceExhausted;
  if (end.http2_error != NGHTTP2_NO_ERROR) {
    return CodeForHttp2Error(end.http2_error);
  }
  if (end.http_status != 200) return CodeForHttpStatus(end.http_status);
  if (end.grpc_status < 0) return kUnknown;  // No status in the trailers.
  if (end.grpc_status != kOk) return end.grpc_status;
  return ParseMessage(end.data, response) ? kOk : kInternal;
}

}  // namespace knbench::load_driver::h2
