#include "knbench/common/process_collector.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "knbench/common/proc_stat.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace knbench {
namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double btime = 0;
      in >> btime;
      return btime;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // The directory stream's own fd.
}

prometheus::MetricFamily Family(const std::string& name,
                                const std::string& help,
                                prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{name, help, type, {metric}};
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  if (const std::optional<ProcStat> stat = ReadProcStat("/proc/self")) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    families.push_back(
        Family("process_cpu_seconds_total",
               "Total user and system CPU time spent in seconds.",
               MetricType::Counter, stat->cpu_seconds));
    families.push_back(Family(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        MetricType::Gauge,
        BootTimeSeconds() + static_cast<double>(stat->start_ticks) / ticks));
  }
  families.push_back(Family("process_resident_memory_bytes",
                            "Resident memory size in bytes.", MetricType::Gauge,
                            ReadResidentBytes("/proc/self").value_or(0)));
  families.push_back(Family("process_open_fds",
                            "Number of open file descriptors.",
                            MetricType::Gauge, OpenFds()));
  return families;
}

}  // namespace knbench
