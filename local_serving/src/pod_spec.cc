#include "knbench/local_serving/pod_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace knbench::local_serving {

std::string PodLogPath(const PodManager::Options& options,
                       const std::string& pod) {
  return absl::StrCat(options.log_dir, "/", pod, ".log");
}

ProcessSpec WorkerSpec(const PodManager::Options& options,
                       const std::string& pod, const PodPorts& ports) {
  ProcessSpec spec;
  spec.path = options.worker_path;
  spec.args = {absl::StrCat("--bind=", options.host),
               absl::StrCat("--grpc-port=", ports.grpc),
               absl::StrCat("--metrics-port=", ports.metrics),
               absl::StrCat("--shutdown-grace=",
                            absl::FormatDuration(options.termination_grace))};
  spec.args.insert(spec.args.end(), options.worker_args.begin(),
                   options.worker_args.end());
  spec.env = {{"POD_NAME", pod}};
  spec.log_path = PodLogPath(options, pod);
  return spec;
}

}  // namespace knbench::local_serving
