#ifndef KNBENCH_TESTING_HTTP_CLIENT_H_
#define KNBENCH_TESTING_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace knbench::testing {

struct RawHttpResponse {
  int status = 0;
  std::string head;  // Status line and headers.
  std::string body;
};

// Sends `request` bytes as-is to 127.0.0.1:`port` and reads until the server
// closes. For tests that need malformed requests as well as plain GETs.
absl::StatusOr<std::string> SendRaw(int port, absl::string_view request,
                                    int timeout_ms = 5000);

// GET `path` from 127.0.0.1:`port`; parses the status line and splits body.
absl::StatusOr<RawHttpResponse> HttpGet(int port, absl::string_view path,
                                        int timeout_ms = 5000);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
// released), for servers that must be told their port up front.
int PickFreePort();

}  // namespace knbench::testing

#endif  // KNBENCH_TESTING_HTTP_CLIENT_H_
