#ifndef KNBENCH_COMMON_PROCESS_COLLECTOR_H_
#define KNBENCH_COMMON_PROCESS_COLLECTOR_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace knbench {

// Exports what Go's client exports by default for a process, read from /proc
// at scrape time: process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds and process_start_time_seconds. Local mode has no
// cAdvisor, so these feed its CPU and memory panels.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace knbench

#endif  // KNBENCH_COMMON_PROCESS_COLLECTOR_H_
