#include "knbench/load_driver/summary_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace knbench::load_driver {

SummaryFile::~SummaryFile() {
  if (fd_ >= 0) close(fd_);
}

absl::Status SummaryFile::Open() {
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create --summary ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status SummaryFile::Write(const std::string& text) {
  struct stat info {};
  bool ok = fstat(fd_, &info) == 0;
  if (ok && S_ISREG(info.st_mode)) {
    ok = ftruncate(fd_, 0) == 0 && lseek(fd_, 0, SEEK_SET) == 0;
  }
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int err = errno;
  const bool closed = close(fd_) == 0;
  fd_ = -1;
  if (!ok || !closed) {
    return absl::InternalError(
        absl::StrCat("writing --summary ", path_, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace knbench::load_driver
