#include "knbench/cgroups/join.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace knbench::cgroups {

absl::StatusOr<CgroupJoin> CgroupJoin::Open(
    const std::vector<std::string>& procs_files) {
  CgroupJoin join;
  for (const std::string& file : procs_files) {
    const int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot open ", file, ": ", strerror(errno)));
    }
    join.fds_.push_back(fd);
  }
  return join;
}

CgroupJoin::CgroupJoin(CgroupJoin&& other) noexcept
    : fds_(std::exchange(other.fds_, {})) {}

CgroupJoin& CgroupJoin::operator=(CgroupJoin&& other) noexcept {
  if (this != &other) {
    CloseAll();
    fds_ = std::exchange(other.fds_, {});
  }
  return *this;
}

CgroupJoin::~CgroupJoin() { CloseAll(); }

void CgroupJoin::CloseAll() noexcept {
  for (const int fd : fds_) close(fd);
  fds_.clear();
}

int CgroupJoin::JoinSelf() const noexcept {
  for (const int fd : fds_) {
    // "0" is the writing process itself, in v1 and v2 alike.
    if (write(fd, "0", 1) != 1) return errno;
  }
  return 0;
}

}  // namespace knbench::cgroups
