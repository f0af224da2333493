#include "knbench/testing/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace knbench::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

absl::StatusOr<std::string> SendRaw(int port, absl::string_view request,
                                    int timeout_ms) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("connect: ", std::strerror(errno)));
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // The server may close early on bad input.
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready <= 0) {
      close(fd);
      return absl::DeadlineExceededError("no answer before the timeout");
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

absl::StatusOr<RawHttpResponse> HttpGet(int port, absl::string_view path,
                                        int timeout_ms,
                                        absl::string_view headers) {
  absl::StatusOr<std::string> raw =
      SendRaw(port,
              absl::StrCat("GET ", path,
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                           "close\r\n",
                           headers, "\r\n"),
              timeout_ms);
  if (!raw.ok()) return raw.status();
  return ParseHttpResponse(*raw);
}

absl::StatusOr<RawHttpResponse> ParseHttpResponse(const std::string& raw) {
  RawHttpResponse response;
  size_t split = raw.find("\r\n\r\n");
  if (split == std::string::npos || raw.size() < 12) {
    return absl::DataLossError(absl::StrCat("not an HTTP response: ", raw));
  }
  response.head = raw.substr(0, split);
  response.body = raw.substr(split + 4);
  if (!absl::SimpleAtoi(raw.substr(9, 3), &response.status)) {
    return absl::DataLossError("bad status line");
  }
  return response;
}

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace knbench::testing
