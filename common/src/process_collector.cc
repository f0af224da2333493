#include "knbench/common/process_collector.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace knbench {
namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  bool ok = false;
};

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

ProcStat ReadProcStat() {
  ProcStat result;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return result;
  // The command name (field 2) may hold spaces; fields resume after ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return result;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  // After ')': field 3 is state; utime, stime are 14, 15; starttime is 22.
  double utime = 0, stime = 0, starttime = 0;
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
    if (index == 22) starttime = std::stod(field);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  result.cpu_seconds = (utime + stime) / ticks;
  result.start_time_seconds = BootTimeSeconds() + starttime / ticks;
  result.ok = true;
  return result;
}

double ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  double size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
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
  ProcStat stat = ReadProcStat();
  if (stat.ok) {
    families.push_back(
        Family("process_cpu_seconds_total",
               "Total user and system CPU time spent in seconds.",
               MetricType::Counter, stat.cpu_seconds));
    families.push_back(
        Family("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.",
               MetricType::Gauge, stat.start_time_seconds));
  }
  families.push_back(Family("process_resident_memory_bytes",
                            "Resident memory size in bytes.", MetricType::Gauge,
                            ResidentBytes()));
  families.push_back(Family("process_open_fds",
                            "Number of open file descriptors.",
                            MetricType::Gauge, OpenFds()));
  return families;
}

}  // namespace knbench
