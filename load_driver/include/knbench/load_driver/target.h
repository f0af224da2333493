#ifndef KNBENCH_LOAD_DRIVER_TARGET_H_
#define KNBENCH_LOAD_DRIVER_TARGET_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace knbench::load_driver {

// --target, parsed once; everything downstream takes this value.
//   host:port, [v6]:port, dns:///host:port  a host and a port (the h2
//                                           transport dials these)
//   unix:..., ipv4:..., ipv6:...            gRPC's own schemes: gRPC reads
//                                           them (the grpc transport only)
struct Target {
  std::string text;  // as given: what gRPC's channel dials
  std::string host;  // without brackets; empty for gRPC's own schemes
  std::string port;  // 1..65535 in decimal; empty for gRPC's own schemes

  // One clear error naming --target if `text` is neither form.
  static absl::StatusOr<Target> Parse(const std::string& text);

  bool has_host_port() const { return !host.empty(); }
  // host:port for the HTTP/2 :authority header (IPv6 in brackets).
  std::string authority() const;
};

// Whether the host of a host:port target resolves (getaddrinfo); gRPC's
// own schemes are left to gRPC.
absl::Status CheckResolves(const Target& target);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TARGET_H_
