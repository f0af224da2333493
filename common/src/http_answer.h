// What an HttpServer sends for one response, composed apart from the loop
// that writes it: the HTTP/1.1 head, the body, or the part of a file a Range
// asks for.
#ifndef KNBENCH_COMMON_SRC_HTTP_ANSWER_H_
#define KNBENCH_COMMON_SRC_HTTP_ANSWER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "knbench/common/http_server.h"

namespace knbench::http_internal {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Bytes to write: `out` (the head, and the body unless a file), then
// `file_left` bytes of `file_fd` (owned) from `file_offset`.
struct Answer {
  std::string out;
  int file_fd = -1;
  off_t file_offset = 0;
  int64_t file_left = 0;
  bool reaches_end = false;  // A GET whose body ends with the resource.
  std::function<void()> on_complete;
};

// A plain-text error response.
HttpResponse Error(int status, absl::string_view message);

// The answer of a response with its body in memory.
Answer BodyAnswer(HttpResponse response, const Headers& extra, bool head_only,
                  bool keep_alive);

// The answer of a file response: the whole file, or the single range the
// request's Range header (`range`, "" if none) asks for; 416 for a range
// outside it, 500 if it cannot be read.
Answer FileAnswer(HttpResponse response, const std::string& range,
                  bool head_only, bool keep_alive);

}  // namespace knbench::http_internal

#endif  // KNBENCH_COMMON_SRC_HTTP_ANSWER_H_
