// The two loopback ports a pod's worker listens on (gRPC and metrics),
// picked together: two independent "free a moment ago" picks can return
// the same number, and a pod then fails to start (issue 21, item 9).
#ifndef KNBENCH_LOCAL_SERVING_POD_PORTS_H_
#define KNBENCH_LOCAL_SERVING_POD_PORTS_H_

#include <functional>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace knbench::local_serving {

struct PodPorts {
  int grpc = 0;
  int metrics = 0;
};

// A port the kernel chose (a socket bound to port 0), held bound until
// this goes, so that the kernel does not hand it out again meanwhile.
class HeldPort {
 public:
  HeldPort(int fd, int port) : fd_(fd), port_(port) {}
  HeldPort(HeldPort&& other) noexcept;
  HeldPort& operator=(HeldPort&& other) noexcept;
  ~HeldPort();
  int port() const { return port_; }

 private:
  int fd_;  // -1: none (tests)
  int port_;
};

// Binds a socket to port 0 of `host` (IPv4, numeric).
absl::StatusOr<HeldPort> HoldFreePort(const std::string& host);

// Two different ports, neither in `taken` (the ports given to pods whose
// workers may not have bound them yet, which the kernel would hand out
// again). Every candidate comes from `hold` and stays held until both are
// chosen, so the kernel never gives the same one twice; after a bounded
// number of tries, an error.
absl::StatusOr<PodPorts> PickPodPorts(
    const std::function<absl::StatusOr<HeldPort>()>& hold,
    const std::set<int>& taken);
// With HoldFreePort(host).
absl::StatusOr<PodPorts> PickPodPorts(const std::string& host,
                                      const std::set<int>& taken);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_POD_PORTS_H_
