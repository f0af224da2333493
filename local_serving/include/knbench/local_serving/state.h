// /state: what local serving reports to scripts and tests as JSON. A pure
// function of the pod and router state, so its output is tested as text.
#ifndef KNBENCH_LOCAL_SERVING_STATE_H_
#define KNBENCH_LOCAL_SERVING_STATE_H_

#include <string>
#include <vector>

#include "knbench/local_serving/pod_manager.h"
#include "knbench/local_serving/router.h"

namespace knbench::local_serving {

// /state: {"requested", "ready", "not_ready", "pending", "terminating",
// "restarts", "activator_in_path", "queued", "inflight", "pods": [{"name",
// "phase", "pid", "grpc_port", "metrics_port", "restarts"}, ...]}, one line.
std::string StateJson(const PodCounts& counts, const Router::Snapshot& router,
                      const std::vector<PodStatus>& pods);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_STATE_H_
