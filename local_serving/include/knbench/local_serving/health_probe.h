// Whether a pod is ready: its worker answers a grpc.health.v1 Check with
// SERVING, as Kubernetes' gRPC readiness probe asks.
#ifndef KNBENCH_LOCAL_SERVING_HEALTH_PROBE_H_
#define KNBENCH_LOCAL_SERVING_HEALTH_PROBE_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace knbench::local_serving {

// The one connection to a pod's worker at host:port, which its readiness
// checks and then the router use: it reconnects fast while the worker
// starts, never idles out, and is the pod's own (each pod is its own host).
std::shared_ptr<grpc::Channel> PodChannel(const std::string& host, int port);

// Injected into PodManager so that tests decide which pods are ready.
class ReadinessProbe {
 public:
  virtual ~ReadinessProbe() = default;
  // One check of `pod` over its `channel`, bounded by the probe's timeout.
  virtual bool Serving(const std::string& pod,
                       const std::shared_ptr<grpc::Channel>& channel) = 0;
};

// One grpc.health.v1 Check per call, waited for on a private completion
// queue: the callback API would start gRPC's own polling threads for good,
// and they would then compete with the router's for every call's I/O.
class GrpcHealthProbe : public ReadinessProbe {
 public:
  explicit GrpcHealthProbe(absl::Duration timeout = absl::Milliseconds(200))
      : timeout_(timeout) {}
  bool Serving(const std::string& pod,
               const std::shared_ptr<grpc::Channel>& channel) override;

 private:
  const absl::Duration timeout_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_HEALTH_PROBE_H_
