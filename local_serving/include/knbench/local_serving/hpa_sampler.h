// metrics-server for local serving's HPA: turns what the pods look like at
// one metric sample (their status, and their cgroups' cumulative usage)
// into the HPA's input (autoscaler_model::HpaSample). A pod's CPU is the
// rate of its cumulative CPU time between its last two samples, in whole
// millicores rounded up; memory is its working set. Like metrics-server,
// a pod has no metrics until its second sample (one counter reading gives
// no rate), nor after its process changed (a restarted container starts a
// new series), nor while no process runs.
#ifndef KNBENCH_LOCAL_SERVING_HPA_SAMPLER_H_
#define KNBENCH_LOCAL_SERVING_HPA_SAMPLER_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_replicas.h"
#include "knbench/cgroups/usage.h"

namespace knbench::local_serving {

// One pod as the HPA's pipeline sees it at a sample (not terminating).
struct PodObservation {
  std::string name;
  bool started = false;  // its first process started (status.startTime)
  absl::Time start;      // valid when started
  bool ready = false;
  absl::Time ready_since;  // the Ready condition's last change, if started
  pid_t pid = 0;           // its process now; 0 while none runs
  std::optional<cgroups::Usage> usage;  // read at the sample
};

class HpaSampler {
 public:
  // Times in samples are offsets from `origin` (the series' second 0), in
  // whole milliseconds, as the samples file writes them.
  explicit HpaSampler(absl::Time origin) : origin_(origin) {}

  // The sample stamped `time` from `pods` as read at `now` (the rate's
  // denominator: the time between a pod's readings).
  autoscaler_model::HpaSample Take(absl::Duration time, absl::Time now,
                                   const std::vector<PodObservation>& pods);

 private:
  struct Reading {
    pid_t pid = 0;
    double cpu_seconds = 0;
    absl::Time at;
  };
  absl::Duration Offset(absl::Time t) const;

  const absl::Time origin_;
  std::map<std::string, Reading> last_;  // by pod
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_HPA_SAMPLER_H_
