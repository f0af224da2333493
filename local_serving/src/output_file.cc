#include "knbench/local_serving/output_file.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <streambuf>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "knbench/common/log.h"

namespace knbench::local_serving {

// Text collects until a flush, then goes to the file with write(2), whose
// error (ENOSPC, EIO, ...) is the one reported.
class OutputFile::Buffer : public std::streambuf {
 public:
  Buffer(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  // Errors were reported when they happened; the owner read the status.
  ~Buffer() override { Close().IgnoreError(); }

  absl::Status Close() {
    Flush();
    absl::MutexLock lock(&mu_);
    if (fd_ >= 0 && close(fd_) != 0) Fail("close", errno);
    fd_ = -1;
    return error_;
  }
  absl::Status status() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof())
      pending_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    pending_.append(s, static_cast<size_t>(n));
    return n;
  }
  int sync() override { return Flush() ? 0 : -1; }

 private:
  bool Flush() {
    absl::MutexLock lock(&mu_);
    size_t done = 0;
    while (error_.ok() && fd_ >= 0 && done < pending_.size()) {
      const ssize_t n =
          write(fd_, pending_.data() + done, pending_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Fail("write", errno);
        break;
      }
      done += static_cast<size_t>(n);
    }
    pending_.clear();
    return error_.ok();
  }
  // The first error only: one line, at once.
  void Fail(const char* what, int error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!error_.ok()) return;
    error_ = absl::DataLossError(
        absl::StrCat(name_, ": ", what, ": ", strerror(error)));
    Logf("error: %s (later rows are lost)", error_.message());
  }

  mutable absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
  const std::string name_;  // "--stats-out FILE"
  std::string pending_;     // the writer's thread only
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Open(
    const std::string& flag, const std::string& path) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", flag, " ", path, ": ", strerror(errno)));
  }
  return std::unique_ptr<OutputFile>(new OutputFile(
      std::make_unique<Buffer>(fd, absl::StrCat(flag, " ", path))));
}

OutputFile::OutputFile(std::unique_ptr<Buffer> buffer)
    : buffer_(std::move(buffer)), stream_(buffer_.get()) {}

OutputFile::~OutputFile() = default;

absl::Status OutputFile::Close() { return buffer_->Close(); }

absl::Status OutputFile::status() const { return buffer_->status(); }

}  // namespace knbench::local_serving
