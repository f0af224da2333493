// No cgroups: pods run unlimited and their usage is their process's, from
// /proc/<pid> (utime + stime, and the RSS as the working set).
#include <string>

#include "absl/strings/str_cat.h"
#include "backend.h"
#include "knbench/common/proc_stat.h"

namespace knbench::cgroups {
namespace {

class ProcBackend : public Backend {
 public:
  explicit ProcBackend(std::string proc_root)
      : proc_root_(std::move(proc_root)) {}

  absl::Status Apply(const ControllerDirs&,
                     const CgroupConfig&) const override {
    return absl::OkStatus();
  }

  absl::StatusOr<Usage> ReadUsage(const ControllerDirs&,
                                  pid_t pid) const override {
    if (pid <= 0) return absl::NotFoundError("no process tracked");
    const std::string dir = absl::StrCat(proc_root_, "/", pid);
    const std::optional<ProcStat> stat = ReadProcStat(dir);
    const std::optional<double> resident = ReadResidentBytes(dir);
    if (!stat || !resident) {
      return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
    }
    Usage usage;
    usage.cpu_seconds = stat->cpu_seconds;
    usage.memory_working_set_bytes = *resident;
    return usage;
  }

  // Nothing is enforced.
  absl::StatusOr<Spec> ReadSpec(const ControllerDirs&) const override {
    return Spec();
  }

 private:
  const std::string proc_root_;
};

}  // namespace

std::unique_ptr<Backend> MakeProcBackend(const std::string& proc_root) {
  return std::make_unique<ProcBackend>(proc_root);
}

}  // namespace knbench::cgroups
