#include "knbench/load_driver/schedule.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "knbench/common/csv.h"

namespace knbench::load_driver {
namespace {

// Caps keep the arithmetic well inside double precision.
constexpr double kMaxRps = 10'000'000;
constexpr absl::Duration kMaxLength = absl::Hours(24 * 7);

absl::StatusOr<double> ParseRate(absl::string_view text, absl::string_view in) {
  double v = 0;
  text = absl::StripAsciiWhitespace(text);
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad rate \"", text, "\" in schedule phase \"", in, "\""));
  }
  if (v < 0 || v > kMaxRps) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate ", text,
                     " out of range [0, 1e7] in schedule phase \"", in, "\""));
  }
  return v;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text,
                                                     absl::string_view in) {
  absl::Duration d;
  text = absl::StripAsciiWhitespace(text);
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration \"", text, "\" in schedule phase \"", in,
                     "\" (Go syntax, e.g. 90s, 12m, 1h30m)"));
  }
  if (d <= absl::ZeroDuration() || d > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration \"", text, "\" in schedule phase \"", in,
                     "\" must be > 0 and <= 168h"));
  }
  return d;
}

std::string Rate(double r) { return absl::StrFormat("%g", r); }

}  // namespace

absl::StatusOr<std::vector<double>> ReadTraceRates(const std::string& path) {
  const auto error = [&path](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("trace file \"", path, "\" ", what));
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open trace file \"", path, "\""));
  }
  // The kit's one CSV reader: quoted fields, a byte order mark, CRLF, blank
  // lines; '#' comments and the limits are the trace format's.
  CsvOptions options;
  options.comment = '#';
  options.max_bytes = kMaxTraceBytes;
  options.max_record_bytes = kMaxTraceLineBytes;
  CsvReader csv(in, options);
  std::vector<double> rates;
  std::vector<std::string> fields;
  while (csv.Next(&fields)) {
    // The rate is the last field (a plain list has only that one).
    const std::string& field = fields.back();
    double r = 0;
    if (!absl::SimpleAtod(field, &r) || !std::isfinite(r)) {
      if (rates.empty() && csv.line() == 1) continue;  // header line
      return error(
          absl::StrCat("line ", csv.line(), ": bad rate \"", field, "\""));
    }
    if (r < 0 || r > kMaxRps) {
      return error(absl::StrCat("line ", csv.line(), ": rate out of range"));
    }
    if (rates.size() == kMaxTraceRates) {
      return error(
          absl::StrCat("has more than ", kMaxTraceRates, " rates (the limit)"));
    }
    rates.push_back(r);
  }
  if (!csv.status().ok()) return error(csv.status().message());
  if (in.bad()) return error("could not be read");
  if (rates.empty()) return error("has no rates");
  return rates;
}

absl::StatusOr<Arrivals> ParseArrivals(absl::string_view text) {
  if (text == "uniform") return Arrivals::kUniform;
  if (text == "poisson") return Arrivals::kPoisson;
  return absl::InvalidArgumentError(absl::StrCat(
      "--arrivals must be uniform or poisson, not \"", text, "\""));
}

const char* ArrivalsName(Arrivals a) {
  return a == Arrivals::kPoisson ? "poisson" : "uniform";
}

absl::StatusOr<Schedule> Schedule::Parse(absl::string_view spec) {
  Schedule s;
  s.spec_ = std::string(absl::StripAsciiWhitespace(spec));
  if (s.spec_.empty()) {
    return absl::InvalidArgumentError("empty --schedule");
  }
  for (absl::string_view part : absl::StrSplit(s.spec_, ',')) {
    absl::Status st = s.AddPhase(absl::StripAsciiWhitespace(part));
    if (!st.ok()) return st;
  }
  absl::Status st = s.Finish();
  if (!st.ok()) return st;
  return s;
}

absl::StatusOr<Schedule> Schedule::Constant(double rps, absl::Duration length) {
  if (!(rps > 0) || rps > kMaxRps) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rps must be > 0 and <= 1e7, got ", Rate(rps)));
  }
  if (length <= absl::ZeroDuration() || length > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration must be > 0 and <= 168h, got ",
                     absl::FormatDuration(length)));
  }
  Schedule s;
  s.spec_ = absl::StrCat(Rate(rps), "@", absl::FormatDuration(length));
  Phase p;
  p.spec = s.spec_;
  p.kind = "constant";
  p.length = length;
  p.min_rps = p.max_rps = p.first_rps = p.last_rps = rps;
  s.phases_.push_back(p);
  s.AddSegment(length, rps, rps);  // exact rate, not the %g text
  s.phases_.back().expected = s.expected();
  absl::Status st = s.Finish();
  if (!st.ok()) return st;
  return s;
}

void Schedule::AddSegment(absl::Duration length, double from, double to) {
  Segment seg;
  seg.start = length_;
  seg.length = length;
  seg.start_rps = from;
  seg.end_rps = to;
  seg.phase = static_cast<int>(phases_.size()) - 1;
  segments_.push_back(seg);
  cumulative_.push_back(cumulative_.back() +
                        (from + to) / 2 * absl::ToDoubleSeconds(length));
  length_ += length;
}

absl::Status Schedule::AddTrace(Phase& p, absl::string_view body,
                                absl::string_view text) {
  p.kind = "trace";
  absl::Duration hold = absl::Seconds(1);
  absl::string_view path = body;
  const size_t at = body.rfind('@');
  if (at != absl::string_view::npos) {
    path = body.substr(0, at);
    auto d = ParsePositiveDuration(body.substr(at + 1), text);
    if (!d.ok()) return d.status();
    hold = *d;
  }
  absl::StatusOr<std::vector<double>> rates = ReadTraceRates(std::string(path));
  if (!rates.ok()) return rates.status();
  p.min_rps = *std::min_element(rates->begin(), rates->end());
  p.max_rps = *std::max_element(rates->begin(), rates->end());
  p.first_rps = rates->front();
  p.last_rps = rates->back();
  for (double r : *rates) {
    AddSegment(hold, r, r);
    if (length_ > kMaxLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace file \"", path, "\" is longer than 168h"));
    }
  }
  return absl::OkStatus();
}

absl::Status Schedule::AddStaircase(Phase& p, absl::string_view fields,
                                    absl::Duration hold,
                                    absl::string_view text) {
  p.kind = "staircase";
  std::vector<absl::string_view> f = absl::StrSplit(fields, ':');
  if (f.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "staircase \"", text, "\" must be step:START:STEP:END@HOLD"));
  }
  auto start = ParseRate(f[0], text);
  if (!start.ok()) return start.status();
  auto step = ParseRate(f[1], text);
  if (!step.ok()) return step.status();
  auto end = ParseRate(f[2], text);
  if (!end.ok()) return end.status();
  if (!(*step > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("staircase \"", text, "\" needs STEP > 0"));
  }
  // Checked as a double: a huge span over a tiny step would not fit an
  // integer.
  const double rises = std::floor(std::abs(*end - *start) / *step + 1e-9);
  if (!(rises < 100000)) {
    return absl::InvalidArgumentError(
        absl::StrCat("staircase \"", text, "\" has too many steps"));
  }
  const int64_t stairs = static_cast<int64_t>(rises) + 1;
  const double dir = *end >= *start ? 1 : -1;
  for (int64_t i = 0; i < stairs; ++i) {
    const double r = *start + dir * static_cast<double>(i) * *step;
    AddSegment(hold, r, r);
  }
  p.first_rps = *start;
  p.last_rps = *start + dir * static_cast<double>(stairs - 1) * *step;
  p.min_rps = std::min(p.first_rps, p.last_rps);
  p.max_rps = std::max(p.first_rps, p.last_rps);
  return absl::OkStatus();
}

absl::Status Schedule::AddPhase(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty phase in schedule \"", spec_, "\""));
  }
  Phase phase;
  phase.spec = std::string(text);
  phase.start = length_;
  const double before = cumulative_.back();
  phases_.push_back(phase);
  Phase& p = phases_.back();
  absl::Status st = AddRates(p, text);
  if (!st.ok()) return st;
  p.length = length_ - p.start;
  p.expected = cumulative_.back() - before;
  return absl::OkStatus();
}

absl::Status Schedule::AddRates(Phase& p, absl::string_view text) {
  absl::string_view body = text;
  if (absl::ConsumePrefix(&body, "trace:")) return AddTrace(p, body, text);
  const size_t at = body.rfind('@');
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule phase \"", text,
        "\" needs @DURATION (e.g. 100@30s, 10..50@1m, step:10:10:50@30s)"));
  }
  auto d = ParsePositiveDuration(body.substr(at + 1), text);
  if (!d.ok()) return d.status();
  absl::string_view rates = body.substr(0, at);
  if (absl::ConsumePrefix(&rates, "step:")) {
    return AddStaircase(p, rates, *d, text);
  }
  if (const size_t dots = rates.find(".."); dots != rates.npos) {
    p.kind = "ramp";
    auto from = ParseRate(rates.substr(0, dots), text);
    if (!from.ok()) return from.status();
    auto to = ParseRate(rates.substr(dots + 2), text);
    if (!to.ok()) return to.status();
    AddSegment(*d, *from, *to);
    p.first_rps = *from;
    p.last_rps = *to;
    p.min_rps = std::min(*from, *to);
    p.max_rps = std::max(*from, *to);
    return absl::OkStatus();
  }
  p.kind = "constant";
  auto r = ParseRate(rates, text);
  if (!r.ok()) return r.status();
  AddSegment(*d, *r, *r);
  p.min_rps = p.max_rps = p.first_rps = p.last_rps = *r;
  return absl::OkStatus();
}

absl::Status Schedule::Finish() {
  if (length_ > kMaxLength) {
    return absl::InvalidArgumentError("schedule is longer than 168h");
  }
  if (expected() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule \"", spec_, "\" asks for fewer than 1 request in total"));
  }
  return absl::OkStatus();
}

int64_t Schedule::UniformCount() const {
  return static_cast<int64_t>(std::ceil(expected() - 1e-9));
}

double Schedule::RateAt(absl::Duration offset) const {
  for (const Segment& s : segments_) {
    if (offset < s.start + s.length) {
      const double f = absl::FDivDuration(offset - s.start, s.length);
      return s.start_rps + (s.end_rps - s.start_rps) * std::max(0.0, f);
    }
  }
  return segments_.empty() ? 0 : segments_.back().end_rps;
}

absl::Duration Schedule::OffsetOf(double n, size_t* hint) const {
  size_t i = *hint;
  while (i + 1 < segments_.size() && cumulative_[i + 1] <= n) ++i;
  *hint = i;
  const Segment& s = segments_[i];
  const double local = std::max(0.0, n - cumulative_[i]);
  const double len = absl::ToDoubleSeconds(s.length);
  const double a = (s.end_rps - s.start_rps) / len;
  // Solves r0*t + a*t^2/2 = local in the form that stays exact for a -> 0
  // and has no cancellation for negative a.
  const double denom =
      s.start_rps +
      std::sqrt(std::max(0.0, s.start_rps * s.start_rps + 2 * a * local));
  double t = denom > 0 ? 2 * local / denom : 0;
  t = std::min(t, len);
  // Nanosecond rounding keeps absolute times exact: no accumulated drift.
  return s.start + absl::Nanoseconds(std::llround(t * 1e9));
}

std::string Schedule::Describe() const {
  std::string out;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& p = phases_[i];
    // Ramps and staircases in their direction (a descending staircase is
    // 300..100); a trace by its range.
    std::string rate =
        p.min_rps == p.max_rps ? absl::StrCat(Rate(p.min_rps), " rps")
        : p.kind == "trace"
            ? absl::StrCat("between ", Rate(p.min_rps), " and ",
                           Rate(p.max_rps), " rps")
            : absl::StrCat(Rate(p.first_rps), "..", Rate(p.last_rps), " rps");
    absl::StrAppendFormat(
        &out, "phase %d: %s %s from %s for %s, %.0f requests (%s)\n", i, p.kind,
        rate, absl::FormatDuration(p.start), absl::FormatDuration(p.length),
        p.expected, p.spec);
  }
  absl::StrAppendFormat(&out, "total: %s, %.0f requests\n",
                        absl::FormatDuration(length_), expected());
  return out;
}

ArrivalGenerator::ArrivalGenerator(const Schedule& schedule, Arrivals arrivals,
                                   uint64_t seed, absl::Duration warmup)
    : schedule_(schedule), arrivals_(arrivals), warmup_(warmup), rng_(seed) {
  if (arrivals_ == Arrivals::kPoisson) position_ = exp_(rng_);
}

bool ArrivalGenerator::Next(Arrival* a) {
  if (position_ >= schedule_.expected()) return false;
  a->seq = ++seq_;
  a->offset = schedule_.OffsetOf(position_, &segment_);
  const Segment& s = schedule_.segments()[segment_];
  const double f = absl::FDivDuration(a->offset - s.start, s.length);
  a->rps = s.start_rps + (s.end_rps - s.start_rps) * f;
  a->phase = s.phase;
  a->warmup = a->offset < warmup_;
  if (arrivals_ == Arrivals::kPoisson) {
    position_ += exp_(rng_);
  } else {
    // Integer positions k-1 are exact in a double: no drift over long runs.
    position_ = static_cast<double>(seq_);
  }
  return true;
}

}  // namespace knbench::load_driver
