#include "knbench/load_driver/threshold.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "knbench/common/json.h"
#include "knbench/load_driver/summary.h"

namespace knbench::load_driver {
namespace {

constexpr absl::string_view kGrammar =
    "want METRIC<VALUE (or <=, >, >=): p50 p90 p95 p99 p99.9 min mean max "
    "(send_ or intended_ prefix) with a duration like 200ms, failure_rate "
    "with a ratio like 0.01 or 1%, or achieved_rps";

absl::Status Bad(absl::string_view spec, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--threshold \"", spec, "\": ", why));
}

bool IsLatency(absl::string_view stat) {
  for (absl::string_view s :
       {"p50", "p90", "p95", "p99", "p99.9", "min", "mean", "max"}) {
    if (stat == s) return true;
  }
  return false;
}

// The statistic `stat` ("p99", "mean", ...) of a latency, if measured.
std::optional<double> LatencyStat(const LatencyStats& l,
                                  absl::string_view stat) {
  if (l.count == 0) return std::nullopt;
  if (stat == "p50") return l.p50;
  if (stat == "p90") return l.p90;
  if (stat == "p95") return l.p95;
  if (stat == "p99") return l.p99;
  if (stat == "p99.9") return l.p999;
  if (stat == "min") return l.min;
  if (stat == "mean") return l.mean;
  return l.max;
}

bool Holds(double v, Threshold::Op op, double limit) {
  switch (op) {
    case Threshold::Op::kLess:
      return v < limit;
    case Threshold::Op::kLessEqual:
      return v <= limit;
    case Threshold::Op::kGreater:
      return v > limit;
    case Threshold::Op::kGreaterEqual:
      return v >= limit;
  }
  return false;
}

}  // namespace

absl::StatusOr<Threshold> ParseThreshold(absl::string_view spec) {
  Threshold t;
  t.spec = std::string(absl::StripAsciiWhitespace(spec));
  const size_t at = t.spec.find_first_of("<>");
  if (at == std::string::npos || at == 0) return Bad(spec, kGrammar);
  absl::string_view metric =
      absl::StripAsciiWhitespace(absl::string_view(t.spec).substr(0, at));
  absl::string_view rest = absl::string_view(t.spec).substr(at);
  const bool less = rest[0] == '<';
  const bool equal = rest.size() > 1 && rest[1] == '=';
  rest.remove_prefix(equal ? 2 : 1);
  t.op = less
             ? (equal ? Threshold::Op::kLessEqual : Threshold::Op::kLess)
             : (equal ? Threshold::Op::kGreaterEqual : Threshold::Op::kGreater);
  const absl::string_view value = absl::StripAsciiWhitespace(rest);
  if (value.empty()) return Bad(spec, "no value after the comparison");

  if (metric == "failure_rate") {
    absl::string_view number = value;
    const bool percent = absl::ConsumeSuffix(&number, "%");
    double v;
    if (!absl::SimpleAtod(number, &v) || !std::isfinite(v) || v < 0 ||
        v > (percent ? 100 : 1)) {
      return Bad(spec,
                 "failure_rate wants a ratio from 0 to 1 (0.01) or a "
                 "percentage (1%)");
    }
    t.metric = "failure_rate";
    t.limit = percent ? v / 100 : v;
    return t;
  }
  if (metric == "achieved_rps") {
    if (!absl::SimpleAtod(value, &t.limit) || !std::isfinite(t.limit) ||
        t.limit < 0) {
      return Bad(spec, "achieved_rps wants a rate in requests/s (e.g. 95)");
    }
    t.metric = "achieved_rps";
    return t;
  }
  std::string basis = "intended";
  if (absl::ConsumePrefix(&metric, "send_")) {
    basis = "send";
  } else {
    absl::ConsumePrefix(&metric, "intended_");
  }
  if (metric == "p999") metric = "p99.9";
  if (!IsLatency(metric)) {
    return Bad(spec,
               absl::StrCat("unknown metric \"", metric, "\"; ", kGrammar));
  }
  absl::Duration d;
  double bare;
  if (absl::SimpleAtod(value, &bare)) {
    return Bad(spec, "a latency needs a unit (200ms, 1.5s, 800us)");
  }
  if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return Bad(spec, absl::StrCat("\"", value,
                                  "\" is not a duration (200ms, 1.5s, 800us)"));
  }
  t.metric = absl::StrCat(basis, " ", metric);
  t.limit = absl::ToDoubleMilliseconds(d);
  return t;
}

absl::StatusOr<std::vector<Threshold>> ParseThresholds(absl::string_view list) {
  std::vector<Threshold> out;
  for (absl::string_view spec :
       absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::StatusOr<Threshold> t = ParseThreshold(spec);
    if (!t.ok()) return t.status();
    out.push_back(*std::move(t));
  }
  return out;
}

std::vector<ThresholdOutcome> EvaluateThresholds(
    const std::vector<Threshold>& thresholds, const Summary& s) {
  std::vector<ThresholdOutcome> out;
  for (const Threshold& t : thresholds) {
    ThresholdOutcome o;
    o.spec = t.spec;
    if (t.metric == "failure_rate") {
      if (s.scheduled > 0) {
        o.observed = static_cast<double>(s.failure + s.dropped) /
                     static_cast<double>(s.scheduled);
      }
    } else if (t.metric == "achieved_rps") {
      o.unit = "rps";
      o.observed = s.achieved_rps;
    } else {
      o.unit = "ms";
      const absl::string_view stat =
          absl::string_view(t.metric).substr(t.metric.find(' ') + 1);
      o.observed = LatencyStat(absl::StartsWith(t.metric, "send ")
                                   ? s.latency_ms
                                   : s.intended_latency_ms,
                               stat);
    }
    o.ok = o.observed.has_value() && Holds(*o.observed, t.op, t.limit);
    out.push_back(std::move(o));
  }
  return out;
}

bool AllPassed(const std::vector<ThresholdOutcome>& outcomes) {
  for (const ThresholdOutcome& o : outcomes) {
    if (!o.ok) return false;
  }
  return true;
}

namespace {

std::string Observed(const ThresholdOutcome& o) {
  if (!o.observed) return "no samples";
  if (o.unit == "ms") return absl::StrFormat("%.3f ms", *o.observed);
  if (o.unit == "rps") return absl::StrFormat("%.3f rps", *o.observed);
  return absl::StrFormat("%.4f", *o.observed);
}

}  // namespace

std::string FormatThresholdsText(const std::vector<ThresholdOutcome>& o) {
  std::string out;
  for (const ThresholdOutcome& t : o) {
    absl::StrAppend(&out, out.empty() ? "" : "  ", t.spec,
                    t.ok ? " ok (" : " FAILED (", Observed(t), ")");
  }
  return out;
}

Json ThresholdsJson(const std::vector<ThresholdOutcome>& o) {
  Json out = Json::array();
  for (const ThresholdOutcome& t : o) {
    out.push_back({{"spec", t.spec},
                   {"ok", t.ok},
                   {"observed",
                    t.observed ? Json(Rounded(*t.observed, 4)) : Json(nullptr)},
                   {"unit", t.unit}});
  }
  return out;
}

}  // namespace knbench::load_driver
