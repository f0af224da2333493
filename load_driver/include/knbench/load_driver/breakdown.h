#ifndef KNBENCH_LOAD_DRIVER_BREAKDOWN_H_
#define KNBENCH_LOAD_DRIVER_BREAKDOWN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "knbench/common/json.h"
#include "knbench/load_driver/row.h"

namespace knbench::load_driver {

// Where a request's latency went: the waits local_serving's router reported,
// the worker's spin, and the rest (latency minus the three: network, gRPC,
// scheduling; never below 0).
enum BreakdownPart { kActivatorWait, kQueueWait, kServerSpin, kRest, kParts };

struct PartShare {
  double mean_ms = 0;
  double mean_share = 0;  // the part's sum over the group's latency sum
  double p99_share = 0;   // nearest-rank p99 of part / latency per request
};

struct BreakdownGroup {
  int64_t requests = 0;
  double latency_mean_ms = 0;
  std::array<PartShare, kParts> parts;
};

// Over the requests whose answers carried both waits.
struct Breakdown {
  BreakdownGroup all;
  BreakdownGroup slowest;  // the slowest 1 % by latency (at least one)
};

// Collects the successes that carry both waits (on the recorder's thread).
// 16 bytes per such request: the slowest 1 % needs them all until the end.
class BreakdownAccumulator {
 public:
  void Add(const Row& row);
  // Absent when no request carried the waits (straight to a worker, on a
  // cluster).
  std::optional<Breakdown> Build() const;

 private:
  struct Sample {
    uint32_t latency_us, activator_us, queue_us, spin_us;
  };
  std::vector<Sample> samples_;
};

// The breakdown's summary JSON (null when absent) and text lines.
Json BreakdownJson(const std::optional<Breakdown>& b);
std::string BreakdownText(const std::optional<Breakdown>& b);

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_BREAKDOWN_H_
