#include "knbench/local_serving/state.h"

#include "knbench/common/json.h"

namespace knbench::local_serving {

std::string StateJson(const PodCounts& c, const Router::Snapshot& r,
                      const std::vector<PodStatus>& pods) {
  Json list = Json::array();
  for (const PodStatus& p : pods) {
    list.push_back({{"name", p.name},
                    {"phase", PodPhaseName(p.phase)},
                    {"pid", p.pid},
                    {"grpc_port", p.grpc_port},
                    {"metrics_port", p.metrics_port},
                    {"restarts", p.restarts}});
  }
  const Json state = {{"requested", c.requested},
                      {"ready", c.ready},
                      {"not_ready", c.not_ready},
                      {"pending", c.pending},
                      {"terminating", c.terminating},
                      {"restarts", c.restarts},
                      {"activator_in_path", r.activator_in_path},
                      {"queued", r.queued},
                      {"inflight", r.inflight},
                      {"pods", std::move(list)}};
  return JsonText(state) + "\n";
}

}  // namespace knbench::local_serving
