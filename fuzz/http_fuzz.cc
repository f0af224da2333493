// libFuzzer target: the metrics port's HTTP request-head parser and its
// Range parser (common/src/http_request.cc). The first byte splits the input:
// even, a request head (as bytes arrive, every prefix is parsed too); odd, a
// Range header against a file size taken from the next two bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "knbench/common/http_request.h"

namespace {

constexpr size_t kMax = 1024;

void CheckHead(absl::string_view buffer) {
  const knbench::HttpHeadParse p = knbench::ParseHttpRequestHead(buffer, kMax);
  switch (p.state) {
    case knbench::HttpHeadParse::kComplete:
      if (p.length == 0 || p.length > buffer.size() || p.length > kMax ||
          p.head.method.empty() || p.head.path.empty() ||
          p.head.path[0] != '/') {
        __builtin_trap();
      }
      break;
    case knbench::HttpHeadParse::kError:
      if (p.error_status < 400 || p.error_status > 505 || p.error.empty()) {
        __builtin_trap();
      }
      break;
    case knbench::HttpHeadParse::kIncomplete:
      // Never waits for more than it would accept.
      if (buffer.size() > kMax) __builtin_trap();
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  if (data[0] % 2 == 0) {
    for (size_t n = 0; n <= rest.size(); n += 1 + n / 8) {
      CheckHead(rest.substr(0, n));
    }
    CheckHead(rest);
    return 0;
  }
  if (rest.size() < 2) return 0;
  const int64_t file_size = (uint8_t(rest[0]) << 8) | uint8_t(rest[1]);
  const knbench::ByteRange r =
      knbench::ParseByteRange(rest.substr(2), file_size);
  if (r.kind == knbench::ByteRange::kPartial &&
      (r.first < 0 || r.first > r.last || r.last >= file_size)) {
    __builtin_trap();
  }
  return 0;
}
