#include "knbench/load_driver/target.h"

#include <netdb.h>
#include <sys/socket.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace knbench::load_driver {
namespace {

absl::Status NotHostPort(const std::string& text) {
  return absl::InvalidArgumentError(
      absl::StrCat("--target \"", text, "\" must be host:port"));
}

}  // namespace

absl::StatusOr<Target> Target::Parse(const std::string& text) {
  Target target;
  target.text = text;
  absl::string_view t = text;
  if (t.empty()) return absl::InvalidArgumentError("--target is empty");
  if (absl::StartsWith(t, "unix:") || absl::StartsWith(t, "ipv4:") ||
      absl::StartsWith(t, "ipv6:")) {
    return target;  // gRPC validates these itself
  }
  absl::ConsumePrefix(&t, "dns:///");
  size_t colon;
  if (absl::StartsWith(t, "[")) {
    const size_t close = t.find(']');
    if (close == t.npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return NotHostPort(text);
    }
    target.host = std::string(t.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = t.rfind(':');
    if (colon == t.npos || colon == 0) return NotHostPort(text);
    target.host = std::string(t.substr(0, colon));
  }
  if (target.host.empty()) return NotHostPort(text);
  target.port = std::string(t.substr(colon + 1));
  int port = 0;
  if (!absl::SimpleAtoi(target.port, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--target \"", text, "\" has a bad port (want 1..65535)"));
  }
  return target;
}

std::string Target::authority() const {
  return host.find(':') == std::string::npos
             ? absl::StrCat(host, ":", port)
             : absl::StrCat("[", host, "]:", port);
}

absl::Status CheckResolves(const Target& target) {
  if (!target.has_host_port()) return absl::OkStatus();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc =
      getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &res);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve --target host \"", target.host,
                     "\": ", gai_strerror(rc)));
  }
  freeaddrinfo(res);
  return absl::OkStatus();
}

}  // namespace knbench::load_driver
