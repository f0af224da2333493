// Prometheus file-based service discovery for the pods: the local
// Prometheus scrapes each running worker's metrics with a `pod` label as
// pods come and go, as kube-prometheus-stack does on a cluster.
#ifndef KNBENCH_LOCAL_SERVING_SD_FILE_H_
#define KNBENCH_LOCAL_SERVING_SD_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "knbench/local_serving/pod_manager.h"

namespace knbench::local_serving {

// The file_sd JSON (indented): one target group per pod with a running
// process (an IPv6 host in brackets),
// [{"targets": ["HOST:METRICS_PORT"], "labels": {"pod": NAME,
//   "namespace": NAMESPACE, "service": SERVICE}}, ...].
std::string FileSdJson(const std::vector<PodStatus>& pods,
                       const std::string& host,
                       const std::string& namespace_name,
                       const std::string& service_name);

// Writes `content` to `path` through a temporary file in the same directory
// and a rename, so Prometheus never reads half a file.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_SD_FILE_H_
