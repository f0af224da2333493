// What one pod runs: the worker process of the pod manager's template on
// the pod's ports, and where its output goes.
#ifndef KNBENCH_LOCAL_SERVING_POD_SPEC_H_
#define KNBENCH_LOCAL_SERVING_POD_SPEC_H_

#include <string>

#include "knbench/local_serving/pod_manager.h"
#include "knbench/local_serving/pod_ports.h"
#include "knbench/local_serving/process.h"

namespace knbench::local_serving {

// The pod's log file: its worker's stdout and stderr.
std::string PodLogPath(const PodManager::Options& options,
                       const std::string& pod);

// The worker of pod `pod`: local serving's flags (--bind, both ports,
// --shutdown-grace = the termination grace) first, the template's
// worker_args after them so they win; POD_NAME names the pod; output to
// PodLogPath. Cgroups are the caller's.
ProcessSpec WorkerSpec(const PodManager::Options& options,
                       const std::string& pod, const PodPorts& ports);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_POD_SPEC_H_
