#ifndef KNBENCH_COMMON_METRICS_ENDPOINT_H_
#define KNBENCH_COMMON_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "knbench/common/http_server.h"
#include "prometheus/registry.h"

namespace knbench {

// The metrics port both binaries expose: /metrics renders `registry` plus
// the process collector in Prometheus text format, /healthz answers "ok".
// Further read-only handlers (the driver's result files) go on http().
class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(std::shared_ptr<prometheus::Registry> registry);

  // Listens on all interfaces at `port` (0 picks a free one).
  absl::Status Start(int port, const std::string& address = "0.0.0.0");
  int port() const { return http_.port(); }
  void Stop() { http_.Stop(); }

  HttpServer& http() { return http_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  HttpServer http_;
};

// Renders the registry and the process collector in the text format.
std::string RenderMetrics(const prometheus::Registry& registry);

}  // namespace knbench

#endif  // KNBENCH_COMMON_METRICS_ENDPOINT_H_
