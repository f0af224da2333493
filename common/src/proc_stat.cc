#include "knbench/common/proc_stat.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"

namespace knbench {

std::optional<ProcStat> ReadProcStat(const std::string& proc_dir) {
  std::ifstream in(proc_dir + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces and ')'; fields resume after
  // the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) {
    return std::nullopt;
  }
  std::istringstream fields(line.substr(close + 2));
  // After ')': field 3 is state; utime, stime are 14, 15; starttime is 22.
  std::string field;
  uint64_t utime = 0, stime = 0, starttime = 0;
  bool ok = true;
  int index = 3;
  for (; index <= 22 && fields >> field; ++index) {
    if (index == 14) ok = ok && absl::SimpleAtoi(field, &utime);
    if (index == 15) ok = ok && absl::SimpleAtoi(field, &stime);
    if (index == 22) ok = ok && absl::SimpleAtoi(field, &starttime);
  }
  if (!ok || index <= 22) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ProcStat{static_cast<double>(utime + stime) / ticks, starttime};
}

std::optional<double> ReadResidentBytes(const std::string& proc_dir) {
  std::ifstream in(proc_dir + "/statm");
  double size = 0, resident = 0;
  if (!(in >> size >> resident)) return std::nullopt;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace knbench
