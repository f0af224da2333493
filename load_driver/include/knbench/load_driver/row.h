#ifndef KNBENCH_LOAD_DRIVER_ROW_H_
#define KNBENCH_LOAD_DRIVER_ROW_H_

#include <cstdint>
#include <string>

namespace knbench::load_driver {

enum class RowStatus : uint8_t { kSuccess, kFailure, kDropped };

const char* RowStatusName(RowStatus s);

// What local_serving's router measured for a call (common/wait_trailers.h);
// -1 where no router reported it (straight to a worker, on a cluster).
struct RouterWaits {
  int64_t activator_us = -1;
  int64_t queue_us = -1;
};

// The fate of one scheduled request: exactly one per request, one CSV line.
struct Row {
  int64_t seq = 0;
  int64_t intended_unix_ns = 0;  // intended send time
  double rps = 0;                // target rate at that moment
  int32_t spin_ms = 0;
  RowStatus status = RowStatus::kSuccess;
  int64_t latency_us = 0;           // from actual send (not for dropped)
  int64_t intended_latency_us = 0;  // from intended send (not for dropped)
  int64_t lag_us = 0;               // actual (or drop decision) - intended
  int grpc_code = -1;               // grpc::StatusCode; -1 for dropped
  std::string pod;
  int64_t server_spin_us = 0;
  RouterWaits waits;
  int32_t phase = 0;
  bool warmup = false;
};

// Where rows go; Record may be called from any thread.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void Record(Row&& row) = 0;
};

// The CSV header, exactly as documented (no trailing newline).
extern const char kCsvHeader[];

// Appends `row` as one CSV line (with '\n') to `out`.
void AppendCsvRow(const Row& row, std::string* out);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_ROW_H_
