// An output file of local_serving (--stats-out, --decisions-out) that says
// when it fails: the first write error is one error line naming the flag,
// the file and the reason, at the moment it happens, and is kept so that
// local_serving exits non-zero at the end. Later writes are dropped.
#ifndef KNBENCH_LOCAL_SERVING_OUTPUT_FILE_H_
#define KNBENCH_LOCAL_SERVING_OUTPUT_FILE_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace knbench::local_serving {

class OutputFile {
 public:
  // Creates or truncates `path`; `flag` names it in errors ("--stats-out").
  static absl::StatusOr<std::unique_ptr<OutputFile>> Open(
      const std::string& flag, const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // What writers write to; each flush (std::flush) writes the file.
  std::ostream& stream() { return stream_; }
  // Flushes and closes (idempotent); the first error of the whole file.
  absl::Status Close();
  // The first error so far.
  absl::Status status() const;

 private:
  class Buffer;
  explicit OutputFile(std::unique_ptr<Buffer> buffer);

  std::unique_ptr<Buffer> buffer_;
  std::ostream stream_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_OUTPUT_FILE_H_
