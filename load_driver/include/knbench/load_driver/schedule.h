#ifndef KNBENCH_LOAD_DRIVER_SCHEDULE_H_
#define KNBENCH_LOAD_DRIVER_SCHEDULE_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace knbench::load_driver {

// When requests are due: a sequence of phases, each a piecewise-linear rate
// over time. Intended send times come from inverting the integral of the
// rate (closed form per segment), so nothing accumulates drift and the count
// over a phase equals the integral of its rate, +-1.
//
// Grammar of --schedule (phases separated by commas, run in order):
//   RATE@DUR                 constant RATE requests/s for DUR
//   FROM..TO@DUR             linear ramp from FROM to TO requests/s over DUR
//   step:START:STEP:END@HOLD staircase START, START+STEP, ... up to END
//                            (down if END < START), each rate held HOLD
//   trace:PATH[@HOLD]        one rate (requests/s) per line of PATH, each
//                            held HOLD (default 1s; 1m for per-minute traces);
//                            in CSV lines the last field is the rate, '#'
//                            lines, blank lines, a header line and a UTF-8
//                            byte order mark are skipped. At most 64 MiB,
//                            lines of at most 4096 bytes, 1 000 000 rates.
// DUR/HOLD use Go duration syntax (90s, 12m, 1h30m). Rates may be fractional
// and 0 (a pause); the schedule as a whole must ask for at least 1 request.
// Example: "10@1m,10..200@5m,step:200:100:500@2m,500@10m".

// Limits of a trace file, so that a wrong path (/dev/zero, a huge log) is an
// error and not a process that reads without end.
inline constexpr int64_t kMaxTraceBytes = int64_t{64} << 20;
inline constexpr size_t kMaxTraceLineBytes = 4096;
inline constexpr size_t kMaxTraceRates = 1000000;

// The rates of a trace file (see trace:PATH above), within those limits.
absl::StatusOr<std::vector<double>> ReadTraceRates(const std::string& path);

enum class Arrivals { kUniform, kPoisson };

absl::StatusOr<Arrivals> ParseArrivals(absl::string_view text);
const char* ArrivalsName(Arrivals a);

// A stretch with a linearly changing rate (constant when the two are equal).
struct Segment {
  absl::Duration start;  // offset from the start of the run
  absl::Duration length;
  double start_rps = 0;
  double end_rps = 0;
  int phase = 0;
};

struct Phase {
  std::string spec;  // the phase as written
  std::string kind;  // constant | ramp | staircase | trace
  absl::Duration start;
  absl::Duration length;
  double min_rps = 0;
  double max_rps = 0;
  double first_rps = 0;  // the phase's first and last rates: a staircase or
  double last_rps = 0;   // ramp may go down
  double expected = 0;   // integral of the rate: requests due in this phase
};

class Schedule {
 public:
  // Parses the grammar above; trace paths are opened relative to the cwd.
  static absl::StatusOr<Schedule> Parse(absl::string_view spec);
  // The single phase of --rps/--duration.
  static absl::StatusOr<Schedule> Constant(double rps, absl::Duration length);

  const std::vector<Phase>& phases() const { return phases_; }
  const std::vector<Segment>& segments() const { return segments_; }
  absl::Duration length() const { return length_; }
  // Integral of the rate over the whole schedule.
  double expected() const { return cumulative_.back(); }
  // Requests a uniform arrival process sends: ceil(expected()).
  int64_t UniformCount() const;

  double RateAt(absl::Duration offset) const;
  // The offset at which the integral reaches `n` (0 <= n < expected()).
  // `segment_hint` is advanced monotonically for sequential callers.
  absl::Duration OffsetOf(double n, size_t* segment_hint) const;

  // Human-readable, one line per phase, for --check-config and logs.
  std::string Describe() const;
  // The schedule in the --schedule grammar (as given or from --rps).
  const std::string& spec() const { return spec_; }

 private:
  absl::Status AddPhase(absl::string_view text);
  // The segments of phase `p` from its text; sets its kind and rates.
  absl::Status AddRates(Phase& p, absl::string_view text);
  // The segments of a trace:PATH[@HOLD] phase (`body` after "trace:").
  absl::Status AddTrace(Phase& p, absl::string_view body,
                        absl::string_view text);
  // The segments of a step:START:STEP:END phase (`fields` after "step:").
  absl::Status AddStaircase(Phase& p, absl::string_view fields,
                            absl::Duration hold, absl::string_view text);
  void AddSegment(absl::Duration length, double from, double to);
  absl::Status Finish();

  std::string spec_;
  std::vector<Phase> phases_;
  std::vector<Segment> segments_;
  std::vector<double> cumulative_{0.0};  // integral at each segment start
  absl::Duration length_;
};

// One due request.
struct Arrival {
  int64_t seq = 0;        // from 1
  absl::Duration offset;  // intended send time relative to the run start
  double rps = 0;         // target rate at that moment
  int phase = 0;
  bool warmup = false;
};

// Walks a schedule's arrivals in order: uniform (the k-th request where the
// integral reaches k-1) or Poisson (a non-homogeneous Poisson process by time
// transformation: unit exponential gaps in integral space, seeded).
class ArrivalGenerator {
 public:
  ArrivalGenerator(const Schedule& schedule, Arrivals arrivals, uint64_t seed,
                   absl::Duration warmup);
  // Fills `a` with the next arrival; false once the schedule is over.
  bool Next(Arrival* a);

 private:
  const Schedule& schedule_;
  Arrivals arrivals_;
  absl::Duration warmup_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> exp_{1.0};
  double position_ = 0;  // integral value of the next arrival
  int64_t seq_ = 0;
  size_t segment_ = 0;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_SCHEDULE_H_
