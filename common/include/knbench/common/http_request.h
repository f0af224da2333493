#ifndef KNBENCH_COMMON_HTTP_REQUEST_H_
#define KNBENCH_COMMON_HTTP_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace knbench {

// What HttpServer needs of a request head (RFC 9112): the method, the path,
// whether the connection may be kept, whether a body follows, and Range.
struct HttpRequestHead {
  std::string method;
  std::string path;  // Percent-decoded, without the query.
  int minor_version = 1;
  bool keep_alive = true;
  // Content-Length above 0 or any Transfer-Encoding: the server reads no
  // bodies, so it answers and closes rather than parse one.
  bool has_body = false;
  std::string range;  // The Range header's value; empty if none.
};

struct HttpHeadParse {
  enum State { kIncomplete, kComplete, kError } state = kIncomplete;
  // kComplete: the bytes of the head, its blank line included.
  size_t length = 0;
  // kError: the status to answer (400, 414, 431, 505) and why.
  int error_status = 0;
  std::string error;
  HttpRequestHead head;
};

// Parses the head at the start of `buffer`. A head longer than `max_bytes`
// is an error (414 if the request line alone is too long, else 431), so a
// client cannot make the server buffer without bound.
HttpHeadParse ParseHttpRequestHead(absl::string_view buffer, size_t max_bytes);

// The byte range a Range header asks of a file of `size` bytes. Only a
// single range is honoured (RFC 9110 allows ignoring the header, and
// serving the whole file, for anything else).
struct ByteRange {
  enum Kind { kWhole, kPartial, kUnsatisfiable } kind = kWhole;
  int64_t first = 0;
  int64_t last = -1;  // Inclusive.
};
ByteRange ParseByteRange(absl::string_view header, int64_t size);

}  // namespace knbench

#endif  // KNBENCH_COMMON_HTTP_REQUEST_H_
