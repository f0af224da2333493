// Reading and writing cgroup interface files (internal).
#ifndef KNBENCH_CGROUPS_SRC_FILE_IO_H_
#define KNBENCH_CGROUPS_SRC_FILE_IO_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "knbench/cgroups/usage.h"

namespace knbench::cgroups {

absl::StatusOr<std::string> ReadText(const std::string& path);

// One write(2) of `text`, as the kernel wants for a cgroup file (each write
// is one command). The file must exist: cgroupfs creates its own files.
absl::Status WriteText(const std::string& path, absl::string_view text);

// Each (file, text) in order; stops at the first failure.
absl::Status WriteAll(
    const std::vector<std::pair<std::string, std::string>>& writes);

// "key value" lines (cpu.stat, memory.stat, memory.events,
// memory.oom_control) as key → value; lines that do not parse are skipped.
std::map<std::string, int64_t> ParseKeyed(absl::string_view text);

// Reads numbers from interface files and keeps the first error, so that a
// whole reading ends in one status.
class Reads {
 public:
  // The first number in the file ("123\n"); "max" is not one (see Limit).
  int64_t Int(const std::string& path);
  // The file's "key value" lines.
  std::map<std::string, int64_t> Keyed(const std::string& path);
  // `key` of what Keyed(path) returned.
  int64_t Field(const std::map<std::string, int64_t>& keyed,
                const std::string& key, const std::string& path);
  // The file's words ("20000 100000\n" → {"20000", "100000"}).
  std::vector<std::string> Words(const std::string& path);
  // A v2 limit word: "max" is none, else a number.
  std::optional<int64_t> Limit(const std::string& word,
                               const std::string& path);

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  int64_t Number(const std::string& word, const std::string& path);
  void Fail(absl::Status status);
  absl::Status status_;
};

// What both versions read the same way, only from other files and keys.
// cpu.stat's CFS counters: nr_periods, nr_throttled, and the throttled time
// under `throttled_key` in units of `seconds_per_unit`.
void ReadCfs(Reads& reads, const std::string& cpu_stat,
             const char* throttled_key, double seconds_per_unit, Usage& usage);
// cAdvisor's working set: the usage in `usage_file` minus `inactive_key` of
// `stat_file`, never below 0.
double WorkingSet(Reads& reads, const std::string& usage_file,
                  const std::string& stat_file, const char* inactive_key);

}  // namespace knbench::cgroups

#endif  // KNBENCH_CGROUPS_SRC_FILE_IO_H_
