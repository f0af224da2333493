#include "knbench/common/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "http_loop.h"
#include "knbench/common/net.h"

namespace knbench {

HttpServer::HttpServer(HttpServerOptions options) : options_(options) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handlers_[path] = std::move(handler);
}

HttpServer::Handler HttpServer::Find(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handlers_.find(path);
  return it == handlers_.end() ? Handler() : it->second;
}

absl::Status HttpServer::Start(const std::string& address, int port) {
  if (loop_ != nullptr) return absl::FailedPreconditionError("started");
  if (absl::Status status = CheckBindAddress(address, "listen address");
      !status.ok()) {
    return status;
  }
  const std::string where = JoinHostPort(address, port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* info = nullptr;
  if (getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints,
                  &info) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", where, ": not a numeric address"));
  }
  const int fd =
      socket(info->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    // A port whose last server left connections in TIME_WAIT is free; one
    // with a listener is not (no SO_REUSEPORT).
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, info->ai_addr, info->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
      err = errno;
    }
  }
  freeaddrinfo(info);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (err == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    err = errno;
  }
  if (err != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", std::strerror(err)));
  }
  port_ = ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  loop_ = std::make_unique<Loop>(this, fd);
  if (absl::Status status = loop_->Start(); !status.ok()) {
    loop_.reset();
    return status;
  }
  return absl::OkStatus();
}

void HttpServer::Stop() { loop_.reset(); }

}  // namespace knbench
