#ifndef KNBENCH_LOAD_DRIVER_SUMMARY_FILE_H_
#define KNBENCH_LOAD_DRIVER_SUMMARY_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace knbench::load_driver {

// The --summary file, opened before the run so that a path that cannot be
// written is found before any load is sent, and written at the end. An
// existing file keeps its content until then.
class SummaryFile {
 public:
  explicit SummaryFile(std::string path) : path_(std::move(path)) {}
  ~SummaryFile();
  SummaryFile(const SummaryFile&) = delete;
  SummaryFile& operator=(const SummaryFile&) = delete;

  absl::Status Open();
  // Writes `text` and closes the file: a regular file is rewritten from the
  // start; a pipe or terminal (--summary=/dev/stdout) just gets the text.
  absl::Status Write(const std::string& text);

 private:
  const std::string path_;
  int fd_ = -1;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_SUMMARY_FILE_H_
