#ifndef KNBENCH_LOAD_DRIVER_RECORDER_H_
#define KNBENCH_LOAD_DRIVER_RECORDER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "knbench/load_driver/row.h"

namespace knbench::load_driver {

// Sees every row, in order, on the recorder's writer thread (so consumers
// need no locking against each other).
class RowConsumer {
 public:
  virtual ~RowConsumer() = default;
  virtual void Consume(const Row& row) = 0;
};

// Buffered CSV output to a file descriptor. The first write error is kept
// (and later writes skipped) so the caller can report it once, clearly.
class CsvWriter {
 public:
  // Creates/truncates `path` and writes the header.
  static absl::StatusOr<std::unique_ptr<CsvWriter>> Open(
      const std::string& path);
  ~CsvWriter();

  void Append(const Row& row);
  // Flushes and closes; returns the first error of the whole file.
  absl::Status Close();
  int64_t rows() const { return rows_; }
  const absl::Status& status() const { return error_; }

 private:
  CsvWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void WriteBuffer();

  int fd_;
  std::string path_;
  std::string buffer_;
  int64_t rows_ = 0;
  absl::Status error_;
};

// Every row passes through here: producers (pacer, gRPC callbacks) hand rows
// to a multi-producer queue (a locked vector swapped out whole by the
// consumer every 20 ms, so a producer holds the lock for one push_back and
// never wakes anyone); ONE writer
// thread formats them into the CSV and feeds the consumers. Rows are never
// written from two threads, so none can tear.
class Recorder : public RowSink {
 public:
  // `writer` may be null (rows then only reach the consumers).
  Recorder(std::unique_ptr<CsvWriter> writer,
           std::vector<RowConsumer*> consumers);
  ~Recorder() override;

  void Start();
  void Record(Row&& row) override;
  // Drains everything recorded so far, closes the CSV and joins the writer.
  // Returns the first write error, if any. Call after the last Record.
  absl::Status Close();
  int64_t rows_consumed() const;
  // The first write error so far (OK if none); callable while running.
  absl::Status write_status() const;

 private:
  void Loop();

  std::unique_ptr<CsvWriter> writer_;
  std::vector<RowConsumer*> consumers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Row> pending_;
  bool closing_ = false;
  int64_t consumed_ = 0;
  absl::Status write_status_;
  std::thread thread_;
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_RECORDER_H_
