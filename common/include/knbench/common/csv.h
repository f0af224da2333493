#ifndef KNBENCH_COMMON_CSV_H_
#define KNBENCH_COMMON_CSV_H_

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace knbench {

// Reads CSV records (RFC 4180): fields split on commas outside double
// quotes, "" inside quotes is one quote, and a quoted field may hold commas
// and line breaks. CRLF and LF both end a record, a UTF-8 byte order mark
// before the first record is dropped, and blank lines are skipped. Unquoted
// fields are trimmed of spaces and tabs; quoted ones are kept as written.
// One reader serves every CSV the kit reads, so a pod name with a comma in
// the load driver's CSV reads the same everywhere.
struct CsvOptions {
  // Lines that start with this character (0: none) are skipped whole, as
  // comments.
  char comment = 0;
  // Limits for input that may be hostile or endless (a trace read from
  // /dev/zero); 0 is no limit. Past one, Next() fails naming it.
  int64_t max_bytes = 0;
  int64_t max_record_bytes = 0;
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in, CsvOptions options = {})
      : in_(in), options_(options) {}

  // The next record, or false at the end of input or on an error (see
  // status()).
  bool Next(std::vector<std::string>* fields);

  // The line the last record started on, counting from 1.
  int64_t line() const { return record_line_; }

  // An unterminated quote or a limit passed, naming its line; OK otherwise.
  const absl::Status& status() const { return status_; }

 private:
  // in_.get(), counting bytes against the limits; kEof past one.
  int Get();

  std::istream& in_;
  const CsvOptions options_;
  int64_t bytes_ = 0;
  int64_t record_bytes_ = 0;
  int64_t next_line_ = 1;
  int64_t record_line_ = 0;
  bool started_ = false;
  absl::Status status_;
};

}  // namespace knbench

#endif  // KNBENCH_COMMON_CSV_H_
