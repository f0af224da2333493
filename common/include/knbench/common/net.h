#ifndef KNBENCH_COMMON_NET_H_
#define KNBENCH_COMMON_NET_H_

#include <sys/epoll.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace knbench {

// The address every server of ours listens on unless --bind says otherwise:
// all IPv4 interfaces, as a container needs. Local runs and tests pass
// 127.0.0.1.
inline constexpr char kDefaultBindAddress[] = "0.0.0.0";

// Checks that `address` is a numeric IPv4 or IPv6 address (what --bind
// takes: listening needs an address, not a name). Errors name `what`.
absl::Status CheckBindAddress(absl::string_view address,
                              absl::string_view what);

// "address:port", with brackets around an IPv6 address, as gRPC and civetweb
// expect a listening address.
std::string JoinHostPort(absl::string_view address, int port);

// Fails when `address`:`port` cannot be listened on, most often because
// another process listens there. It binds a probe socket without
// SO_REUSEPORT: gRPC sets that option on its own listeners, so a second gRPC
// server on a busy port would otherwise start and silently share the port.
// Call it right before starting a server; port 0 always passes.
absl::Status CheckPortFree(const std::string& address, int port);

// An epoll registration of `events` whose wake-ups carry `ptr`.
inline epoll_event EpollEvent(uint32_t events, void* ptr) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = ptr;
  return ev;
}

}  // namespace knbench

#endif  // KNBENCH_COMMON_NET_H_
