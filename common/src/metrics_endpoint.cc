#include "knbench/common/metrics_endpoint.h"

#include <utility>
#include <vector>

#include "knbench/common/process_collector.h"
#include "prometheus/text_serializer.h"

namespace knbench {

std::string RenderMetrics(
    const prometheus::Registry& registry,
    const std::vector<std::shared_ptr<prometheus::Collectable>>& more) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  auto append = [&families](std::vector<prometheus::MetricFamily> collected) {
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  };
  append(ProcessCollector().Collect());
  for (const auto& collectable : more) append(collectable->Collect());
  return prometheus::TextSerializer().Serialize(families);
}

MetricsEndpoint::MetricsEndpoint(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {
  http_.Handle("/metrics", [this] {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                        RenderMetrics(*registry_, collectables_)};
  });
  http_.Handle("/healthz", [] {
    return HttpResponse{200, "text/plain", "ok\n"};
  });
}

void MetricsEndpoint::Add(
    std::shared_ptr<prometheus::Collectable> collectable) {
  collectables_.push_back(std::move(collectable));
}

absl::Status MetricsEndpoint::Start(int port, const std::string& address) {
  return http_.Start(address, port);
}

}  // namespace knbench
