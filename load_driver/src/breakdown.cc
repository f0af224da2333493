#include "knbench/load_driver/breakdown.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace knbench::load_driver {
namespace {

// The parts' names in the summary JSON and in its text.
constexpr const char* kNames[kParts] = {"activator_wait", "queue_wait",
                                        "server_spin", "rest"};
constexpr const char* kTextNames[kParts] = {"activator", "queue", "spin",
                                            "rest"};

// Microseconds as stored: a value past ~71 minutes saturates.
uint32_t Stored(int64_t us) {
  return static_cast<uint32_t>(
      std::clamp<int64_t>(us, 0, std::numeric_limits<uint32_t>::max()));
}

// (A template: the accumulator's Sample is private to it.)
template <typename Sample>
std::array<double, kParts> PartsOf(const Sample& s) {
  const double rest =
      std::max<double>(0, static_cast<double>(s.latency_us) - s.activator_us -
                              s.queue_us - s.spin_us);
  return {static_cast<double>(s.activator_us), static_cast<double>(s.queue_us),
          static_cast<double>(s.spin_us), rest};
}

// Nearest-rank percentile of `v` (sorted in place); 0 when empty.
double NearestRank(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))));
  return v[std::min(rank, v.size()) - 1];
}

template <typename It>
BreakdownGroup GroupOf(It begin, It end) {
  BreakdownGroup g;
  double latency_sum = 0;
  std::array<double, kParts> sums{};
  std::array<std::vector<double>, kParts> shares;
  for (It it = begin; it != end; ++it) {
    const double latency = it->latency_us;
    const std::array<double, kParts> parts = PartsOf(*it);
    latency_sum += latency;
    for (int p = 0; p < kParts; ++p) {
      sums[p] += parts[p];
      shares[p].push_back(latency > 0 ? parts[p] / latency : 0);
    }
    ++g.requests;
  }
  if (g.requests == 0) return g;
  g.latency_mean_ms = latency_sum / g.requests / 1000;
  for (int p = 0; p < kParts; ++p) {
    g.parts[p].mean_ms = sums[p] / g.requests / 1000;
    g.parts[p].mean_share = latency_sum > 0 ? sums[p] / latency_sum : 0;
    g.parts[p].p99_share = NearestRank(shares[p], 0.99);
  }
  return g;
}

Json GroupJson(const BreakdownGroup& g) {
  Json parts = Json::object();
  for (int p = 0; p < kParts; ++p) {
    const PartShare& s = g.parts[p];
    parts[kNames[p]] = Json{{"mean_ms", Rounded(s.mean_ms, 3)},
                            {"mean_share", Rounded(s.mean_share, 4)},
                            {"p99_share", Rounded(s.p99_share, 4)}};
  }
  return Json{{"requests", g.requests},
              {"latency_mean_ms", Rounded(g.latency_mean_ms, 3)},
              {"parts", parts}};
}

std::string GroupText(const char* label, const BreakdownGroup& g) {
  std::string out = absl::StrFormat("breakdown     %s (%d request%s):", label,
                                    g.requests, g.requests == 1 ? "" : "s");
  for (int p = 0; p < kParts; ++p) {
    absl::StrAppendFormat(&out, "  %s %.1f %% (p99 %.1f %%)", kTextNames[p],
                          100 * g.parts[p].mean_share,
                          100 * g.parts[p].p99_share);
  }
  return out + "\n";
}

}  // namespace

void BreakdownAccumulator::Add(const Row& row) {
  if (row.status != RowStatus::kSuccess || row.waits.activator_us < 0 ||
      row.waits.queue_us < 0) {
    return;
  }
  samples_.push_back({Stored(row.latency_us), Stored(row.waits.activator_us),
                      Stored(row.waits.queue_us), Stored(row.server_spin_us)});
}

std::optional<Breakdown> BreakdownAccumulator::Build() const {
  if (samples_.empty()) return std::nullopt;
  Breakdown b;
  b.all = GroupOf(samples_.begin(), samples_.end());
  std::vector<Sample> sorted = samples_;
  const size_t slowest = (sorted.size() + 99) / 100;
  std::nth_element(sorted.begin(), sorted.begin() + (slowest - 1), sorted.end(),
                   [](const Sample& a, const Sample& b) {
                     return a.latency_us > b.latency_us;
                   });
  b.slowest = GroupOf(sorted.begin(), sorted.begin() + slowest);
  return b;
}

Json BreakdownJson(const std::optional<Breakdown>& b) {
  if (!b) return Json(nullptr);
  return Json{{"all", GroupJson(b->all)},
              {"slowest_1pct", GroupJson(b->slowest)}};
}

std::string BreakdownText(const std::optional<Breakdown>& b) {
  if (!b) return "breakdown     none (no router reported its waits)\n";
  return GroupText("all", b->all) + GroupText("slowest 1 %", b->slowest);
}

}  // namespace knbench::load_driver
