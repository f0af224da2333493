#ifndef KNBENCH_COMMON_METRICS_ENDPOINT_H_
#define KNBENCH_COMMON_METRICS_ENDPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "knbench/common/http_server.h"
#include "prometheus/collectable.h"
#include "prometheus/registry.h"

namespace knbench {

// The metrics port both binaries expose: /metrics renders `registry` plus
// the process collector (and any collectable added) in Prometheus text
// format, /healthz answers "ok". Further read-only handlers (the driver's
// result files) go on http().
class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(std::shared_ptr<prometheus::Registry> registry);

  // Series read at scrape time (local serving's pods' cgroups), rendered
  // after the registry's. Before Start.
  void Add(std::shared_ptr<prometheus::Collectable> collectable);

  // Listens on all interfaces at `port` (0 picks a free one).
  absl::Status Start(int port, const std::string& address = "0.0.0.0");
  int port() const { return http_.port(); }
  void Stop() { http_.Stop(); }

  HttpServer& http() { return http_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  HttpServer http_;
};

// Renders the registry, the process collector and `more` in the text
// format.
std::string RenderMetrics(
    const prometheus::Registry& registry,
    const std::vector<std::shared_ptr<prometheus::Collectable>>& more = {});

}  // namespace knbench

#endif  // KNBENCH_COMMON_METRICS_ENDPOINT_H_
