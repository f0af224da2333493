// What /proc says about one process: the CPU it used, when it started, and
// its resident memory. One reader for every caller (the process collector,
// the cgroups fallback and its leftover check).
#ifndef KNBENCH_COMMON_PROC_STAT_H_
#define KNBENCH_COMMON_PROC_STAT_H_

#include <cstdint>
#include <optional>
#include <string>

namespace knbench {

struct ProcStat {
  double cpu_seconds = 0;    // utime + stime
  uint64_t start_ticks = 0;  // starttime: clock ticks after boot
};

// Reads `<proc_dir>/stat`, where proc_dir is "/proc/self" or "/proc/<pid>".
// Empty if the process is gone or the file does not parse.
std::optional<ProcStat> ReadProcStat(const std::string& proc_dir);

// Resident set size in bytes from `<proc_dir>/statm`; empty if unreadable.
std::optional<double> ReadResidentBytes(const std::string& proc_dir);

}  // namespace knbench

#endif  // KNBENCH_COMMON_PROC_STAT_H_
