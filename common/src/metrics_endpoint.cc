#include "knbench/common/metrics_endpoint.h"

#include <utility>
#include <vector>

#include "knbench/common/process_collector.h"
#include "prometheus/text_serializer.h"

namespace knbench {

std::string RenderMetrics(const prometheus::Registry& registry) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  std::vector<prometheus::MetricFamily> process = ProcessCollector().Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  return prometheus::TextSerializer().Serialize(families);
}

MetricsEndpoint::MetricsEndpoint(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {
  http_.Handle("/metrics", [this] {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                        RenderMetrics(*registry_)};
  });
  http_.Handle("/healthz", [] {
    return HttpResponse{200, "text/plain", "ok\n"};
  });
}

absl::Status MetricsEndpoint::Start(int port, const std::string& address) {
  return http_.Start(address, port);
}

}  // namespace knbench
