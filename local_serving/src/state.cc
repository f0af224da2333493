#include "knbench/local_serving/state.h"

#include <optional>

namespace knbench::local_serving {
namespace {

Json Optional(const std::optional<int64_t>& v) {
  return v.has_value() ? Json(*v) : Json(nullptr);
}

Json CgroupJson(const PodCgroupView& view) {
  const cgroups::Spec& spec = view.spec;
  return {{"id", view.id},
          {"dirs", view.dirs},
          {"cpu_shares", Optional(spec.cpu_shares)},
          {"cpu_quota_us", Optional(spec.cfs_quota_micros)},
          {"cpu_period_us", spec.cfs_quota_micros.has_value()
                                ? Json(spec.cfs_period_micros)
                                : Json(nullptr)},
          {"memory_limit_bytes", Optional(spec.memory_limit_bytes)}};
}

}  // namespace

std::string StateJson(const ServingState& s) {
  Json list = Json::array();
  for (const PodStatus& p : s.pods) {
    const auto cgroup = s.cgroups.find(p.name);
    list.push_back(
        {{"name", p.name},
         {"phase", PodPhaseName(p.phase)},
         {"pid", p.pid},
         {"grpc_port", p.grpc_port},
         {"metrics_port", p.metrics_port},
         {"restarts", p.restarts},
         {"last_termination_reason", p.last_termination_reason.empty()
                                         ? Json(nullptr)
                                         : Json(p.last_termination_reason)},
         {"cgroup", cgroup == s.cgroups.end() ? Json(nullptr)
                                              : CgroupJson(cgroup->second)}});
  }
  const PodCounts& c = s.counts;
  const Json state = {{"requested", c.requested},
                      {"ready", c.ready},
                      {"not_ready", c.not_ready},
                      {"pending", c.pending},
                      {"terminating", c.terminating},
                      {"restarts", c.restarts},
                      {"activator_in_path", s.router.activator_in_path},
                      {"queued", s.router.queued},
                      {"inflight", s.router.inflight},
                      {"reading", s.router.reading},
                      {"message_bytes", s.router.message_bytes},
                      {"restarts_by_reason", c.restarts_by_reason},
                      {"class", s.autoscaler_class},
                      {"idle_pods", s.idle_pods},
                      {"pod_resources", s.pod_resources},
                      {"pods", std::move(list)}};
  return JsonText(state) + "\n";
}

}  // namespace knbench::local_serving
