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

// A TCP connection to 127.0.0.1:`port` (blocking), or -1.
int ConnectLoopback(int port);

// Sends `request` bytes as-is to 127.0.0.1:`port` and reads until the server
// closes. For tests that need malformed requests as well as plain GETs; a
// well-formed HTTP/1.1 request needs "Connection: close", or the server keeps
// the connection open for the next one.
absl::StatusOr<std::string> SendRaw(int port, absl::string_view request,
                                    int timeout_ms = 5000);

// GET `path` from 127.0.0.1:`port` (one request, Connection: close); parses
// the status line and splits off the body. `headers` are extra header lines,
// each ending in "\r\n".
absl::StatusOr<RawHttpResponse> HttpGet(int port, absl::string_view path,
                                        int timeout_ms = 5000,
                                        absl::string_view headers = "");

// Splits one raw response into status, head and body.
absl::StatusOr<RawHttpResponse> ParseHttpResponse(const std::string& raw);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
// released), for servers that must be told their port up front.
int PickFreePort();

}  // namespace knbench::testing

#endif  // KNBENCH_TESTING_HTTP_CLIENT_H_
