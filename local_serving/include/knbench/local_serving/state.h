// /state: what local serving reports to scripts and tests as JSON. A pure
// function of the pod, router and autoscaler state, so its output is tested
// as text.
#ifndef KNBENCH_LOCAL_SERVING_STATE_H_
#define KNBENCH_LOCAL_SERVING_STATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "knbench/common/json.h"
#include "knbench/local_serving/pod_cgroups.h"
#include "knbench/local_serving/pod_manager.h"
#include "knbench/local_serving/router.h"

namespace knbench::local_serving {

struct ServingState {
  PodCounts counts;
  Router::Snapshot router;
  std::string autoscaler_class;  // "kpa" or "hpa"
  // The pods the revision keeps when idle: the KPA's min-scale (at least 1
  // without scale to zero), the HPA's max(min-scale, 1).
  int32_t idle_pods = 0;
  Json pod_resources;  // PodResourcesJson
  std::vector<PodStatus> pods;
  std::map<std::string, PodCgroupView> cgroups;  // by pod name
};

// /state: {"requested", "ready", "not_ready", "pending", "terminating",
// "restarts", "activator_in_path", "queued", "inflight", "reading",
// "message_bytes",
// "restarts_by_reason": {"OOMKilled": n, ...}, "class", "idle_pods",
// "pod_resources", "pods": [{"name", "phase", "pid", "grpc_port",
// "metrics_port", "restarts", "last_termination_reason" (null before a
// restart), "cgroup": null or {"id", "dirs", "cpu_shares",
// "cpu_quota_us", "cpu_period_us", "memory_limit_bytes"} (null where the
// cgroup sets none)}, ...]}, one line.
std::string StateJson(const ServingState& state);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_STATE_H_
