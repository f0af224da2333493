#include "knbench/common/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace knbench {
namespace {

// getaddrinfo for a numeric address only: never a DNS lookup.
addrinfo* NumericAddress(const std::string& address, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(address.c_str(), service.c_str(), &hints, &result) != 0) {
    return nullptr;
  }
  return result;
}

}  // namespace

absl::Status CheckBindAddress(absl::string_view address,
                              absl::string_view what) {
  // inet_pton, unlike getaddrinfo, refuses the legacy short forms (1.2.3).
  const std::string text(address);
  in6_addr buf;
  if (inet_pton(AF_INET, text.c_str(), &buf) != 1 &&
      inet_pton(AF_INET6, text.c_str(), &buf) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", address,
                     "' is not an IPv4 or IPv6 address (e.g. 0.0.0.0, "
                     "127.0.0.1, ::1)"));
  }
  return absl::OkStatus();
}

std::string JoinHostPort(absl::string_view address, int port) {
  return absl::StrContains(address, ':')
             ? absl::StrCat("[", address, "]:", port)
             : absl::StrCat(address, ":", port);
}

absl::Status CheckPortFree(const std::string& address, int port) {
  if (port == 0) return absl::OkStatus();
  const std::string where = JoinHostPort(address, port);
  addrinfo* info = NumericAddress(address, port);
  if (info == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", where, ": not a numeric address"));
  }
  int fd = socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    // SO_REUSEADDR: a port whose last server left connections in TIME_WAIT
    // is free; one with a listener is not.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, info->ai_addr, info->ai_addrlen) != 0) err = errno;
    close(fd);
  }
  freeaddrinfo(info);
  if (err == EADDRINUSE) {
    return absl::UnavailableError(
        absl::StrCat("port ", port, " is already in use (", where, ")"));
  }
  if (err != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace knbench
