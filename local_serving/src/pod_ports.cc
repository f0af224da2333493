#include "knbench/local_serving/pod_ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace knbench::local_serving {
namespace {

// Enough to step over every port of a 1000-pod revision many times.
constexpr int kMaxTries = 64;

}  // namespace

HeldPort::HeldPort(HeldPort&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}

HeldPort& HeldPort::operator=(HeldPort&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
  }
  return *this;
}

HeldPort::~HeldPort() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<HeldPort> HoldFreePort(const std::string& host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 address: ", host));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("no free port on ", host, ": ", strerror(error)));
  }
  return HeldPort(fd, ntohs(addr.sin_port));
}

absl::StatusOr<PodPorts> PickPodPorts(
    const std::function<absl::StatusOr<HeldPort>()>& hold,
    const std::set<int>& taken) {
  std::vector<HeldPort> held;  // every candidate, until the end
  std::vector<int> chosen;
  for (int i = 0; i < kMaxTries && chosen.size() < 2; ++i) {
    absl::StatusOr<HeldPort> port = hold();
    if (!port.ok()) return port.status();
    const int number = port->port();
    held.push_back(*std::move(port));
    if (taken.count(number) > 0) continue;
    if (!chosen.empty() && chosen.front() == number) continue;
    chosen.push_back(number);
  }
  if (chosen.size() < 2) {
    return absl::UnavailableError(
        absl::StrCat("no two free ports apart from the pods' ", taken.size(),
                     " after ", kMaxTries, " tries"));
  }
  return PodPorts{chosen[0], chosen[1]};
}

absl::StatusOr<PodPorts> PickPodPorts(const std::string& host,
                                      const std::set<int>& taken) {
  return PickPodPorts([&host] { return HoldFreePort(host); }, taken);
}

}  // namespace knbench::local_serving
