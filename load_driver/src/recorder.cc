#include "knbench/load_driver/recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace knbench::load_driver {
namespace {
constexpr size_t kFlushBytes = 1 << 20;
constexpr std::chrono::milliseconds kBatchInterval(20);
}  // namespace

absl::StatusOr<std::unique_ptr<CsvWriter>> CsvWriter::Open(
    const std::string& path) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create --out ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<CsvWriter> w(new CsvWriter(fd, path));
  w->buffer_.reserve(kFlushBytes + 4096);
  w->buffer_.append(kCsvHeader);
  w->buffer_.push_back('\n');
  return w;
}

CsvWriter::~CsvWriter() { (void)Close(); }

void CsvWriter::Append(const Row& row) {
  AppendCsvRow(row, &buffer_);
  ++rows_;
  if (buffer_.size() >= kFlushBytes) WriteBuffer();
}

void CsvWriter::WriteBuffer() {
  size_t done = 0;
  while (error_.ok() && done < buffer_.size() && fd_ >= 0) {
    const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = absl::DataLossError(
          absl::StrCat("writing ", path_, ": ", std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
}

absl::Status CsvWriter::Close() {
  if (fd_ < 0) return error_;
  WriteBuffer();
  if (close(fd_) != 0 && error_.ok()) {
    error_ = absl::DataLossError(
        absl::StrCat("closing ", path_, ": ", std::strerror(errno)));
  }
  fd_ = -1;
  return error_;
}

Recorder::Recorder(std::unique_ptr<CsvWriter> writer,
                   std::vector<RowConsumer*> consumers)
    : writer_(std::move(writer)), consumers_(std::move(consumers)) {
  pending_.reserve(4096);
}

Recorder::~Recorder() { (void)Close(); }

void Recorder::Start() {
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void Recorder::Record(Row&& row) {
  // No wake-up per row: the writer collects every kBatchInterval, which
  // saves a context switch per request at high rates.
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back(std::move(row));
}

void Recorder::Loop() {
  std::vector<Row> batch;
  batch.reserve(4096);
  for (;;) {
    bool closing;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kBatchInterval, [this] { return closing_; });
      batch.swap(pending_);
      closing = closing_;
    }
    for (const Row& row : batch) {
      if (writer_) writer_->Append(row);
      for (RowConsumer* c : consumers_) c->Consume(row);
    }
    absl::Status st = writer_ ? writer_->status() : absl::OkStatus();
    {
      std::lock_guard<std::mutex> lock(mu_);
      consumed_ += static_cast<int64_t>(batch.size());
      if (write_status_.ok()) write_status_ = st;
    }
    batch.clear();
    if (closing) {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_.empty()) break;
    }
  }
}

absl::Status Recorder::Close() {
  if (closed_) return write_status_;
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  if (started_) {
    thread_.join();
  } else {
    for (const Row& row : pending_) {
      if (writer_) writer_->Append(row);
      for (RowConsumer* c : consumers_) c->Consume(row);
    }
    consumed_ += static_cast<int64_t>(pending_.size());
    pending_.clear();
  }
  absl::Status st = writer_ ? writer_->Close() : absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  if (write_status_.ok()) write_status_ = st;
  return write_status_;
}

absl::Status Recorder::write_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_status_;
}

int64_t Recorder::rows_consumed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return consumed_;
}

}  // namespace knbench::load_driver
