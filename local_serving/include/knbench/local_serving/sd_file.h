// Prometheus file-based service discovery for the pods: the local
// Prometheus scrapes each running worker's metrics with a `pod` label as
// pods come and go, as kube-prometheus-stack does on a cluster.
#ifndef KNBENCH_LOCAL_SERVING_SD_FILE_H_
#define KNBENCH_LOCAL_SERVING_SD_FILE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
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

// The --prometheus-sd-file of a revision, rewritten whole (atomically) on
// every pod change. The first failed rewrite is one error line and is kept
// (for the exit status: Prometheus may have missed pods meanwhile); later
// failures are not said again. Thread-safe.
class SdFileWriter {
 public:
  SdFileWriter(std::string path, std::string host, std::string namespace_name,
               std::string service_name);
  // false if this rewrite failed.
  bool Write(const std::vector<PodStatus>& pods);
  // The first failure; OK if none.
  absl::Status status() const;

 private:
  const std::string path_;
  const std::string host_;
  const std::string namespace_name_;
  const std::string service_name_;
  mutable absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_SD_FILE_H_
