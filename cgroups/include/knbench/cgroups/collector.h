// Each pod's resources and usage under the names a cluster exports them
// with, read at scrape time like cAdvisor (so counters are the cgroups' own
// cumulative values), so the same queries work locally and on a cluster:
//
// cAdvisor (labels container, id, image, name, namespace, pod; the usage
// also cpu="total", as the kubelet reports it):
//   container_cpu_usage_seconds_total, container_memory_working_set_bytes,
//   container_oom_events_total, container_spec_cpu_shares,
//   container_spec_memory_limit_bytes (0: none), and where a CPU limit is
//   set container_cpu_cfs_periods_total,
//   container_cpu_cfs_throttled_periods_total,
//   container_cpu_cfs_throttled_seconds_total, container_spec_cpu_quota,
//   container_spec_cpu_period.
// kube-state-metrics (labels namespace, pod, container, node, resource =
// cpu|memory, unit = core|byte), after the API server's defaulting:
//   kube_pod_container_resource_requests, kube_pod_container_resource_limits.
//
// A pod whose usage cannot be read (its cgroup is being removed, or in the
// fallback no process runs) has no cAdvisor series in that scrape.
#ifndef KNBENCH_CGROUPS_COLLECTOR_H_
#define KNBENCH_CGROUPS_COLLECTOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "knbench/cgroups/manager.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace knbench::cgroups {

// What a cluster would label every pod's container with.
struct ContainerLabels {
  std::string namespace_name;  // e.g. "default"
  std::string container;       // the manifest's container name, "worker"
  std::string image;           // its image, "knbench/worker"
  std::string node;            // the host name
};

class ResourceCollector : public prometheus::Collectable {
 public:
  // Lists the current pods; called on every scrape, from the scraping
  // thread.
  using PodLister =
      std::function<std::vector<std::shared_ptr<const PodCgroup>>()>;

  ResourceCollector(ContainerLabels labels, PodLister pods);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const ContainerLabels labels_;
  const PodLister pods_;
};

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_COLLECTOR_H_
