#include "knbench/load_driver/summary.h"

#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "knbench/common/grpc_codes.h"
#include "knbench/common/json.h"

namespace knbench::load_driver {

SummaryAccumulator::SummaryAccumulator(const Schedule& schedule)
    : schedule_(schedule), phases_(schedule.phases().size()) {}

void SummaryAccumulator::Consume(const Row& row) {
  ++scheduled_;
  if (row.warmup) ++warmup_;
  PerPhase* phase = nullptr;
  if (row.phase >= 0 && static_cast<size_t>(row.phase) < phases_.size()) {
    phase = &phases_[static_cast<size_t>(row.phase)];
    ++phase->scheduled;
  }
  switch (row.status) {
    case RowStatus::kSuccess:
      ++success_;
      if (phase) ++phase->success;
      if (!row.pod.empty()) ++pods_[row.pod];
      if (!row.warmup) {
        latency_us_.Add(row.latency_us);
        intended_us_.Add(row.intended_latency_us);
        breakdown_.Add(row);
        if (phase) phase->latency_us.Add(row.latency_us);
      }
      break;
    case RowStatus::kFailure:
      ++failure_;
      if (phase) ++phase->failure;
      ++errors_[GrpcCodeName(row.grpc_code)];
      break;
    case RowStatus::kDropped:
      ++dropped_;
      if (phase) ++phase->dropped;
      break;
  }
  if (row.status != RowStatus::kDropped && !row.warmup) lag_us_.Add(row.lag_us);
}

LatencyStats StatsFromMicros(const LogLinearHistogram& h) {
  LatencyStats s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.min = static_cast<double>(h.min()) / 1000;
  s.mean = h.mean() / 1000;
  s.p50 = h.Percentile(0.50) / 1000;
  s.p90 = h.Percentile(0.90) / 1000;
  s.p95 = h.Percentile(0.95) / 1000;
  s.p99 = h.Percentile(0.99) / 1000;
  s.p999 = h.Percentile(0.999) / 1000;
  s.max = static_cast<double>(h.max()) / 1000;
  return s;
}

Summary SummaryAccumulator::Build(const RunInfo& info) const {
  Summary s;
  s.target = info.target;
  s.schedule = schedule_.spec();
  s.arrivals = info.arrivals;
  s.scheduled = scheduled_;
  s.success = success_;
  s.failure = failure_;
  s.dropped = dropped_;
  s.sent = success_ + failure_;
  s.warmup = warmup_;
  s.duration_s = info.duration_s;
  s.achieved_rps =
      info.duration_s > 0 ? static_cast<double>(s.sent) / info.duration_s : 0;
  s.latency_ms = StatsFromMicros(latency_us_);
  s.intended_latency_ms = StatsFromMicros(intended_us_);
  s.lag_ms.count = lag_us_.count();
  s.lag_ms.p50 = lag_us_.Percentile(0.5) / 1000;
  s.lag_ms.p99 = lag_us_.Percentile(0.99) / 1000;
  s.lag_ms.max = static_cast<double>(lag_us_.max()) / 1000;
  s.breakdown = breakdown_.Build();
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& p = schedule_.phases()[i];
    const PerPhase& a = phases_[i];
    PhaseSummary ps;
    ps.index = static_cast<int>(i);
    ps.spec = p.spec;
    ps.kind = p.kind;
    ps.start_s = absl::ToDoubleSeconds(p.start);
    ps.duration_s = absl::ToDoubleSeconds(p.length);
    ps.expected = p.expected;
    ps.scheduled = a.scheduled;
    ps.success = a.success;
    ps.failure = a.failure;
    ps.dropped = a.dropped;
    ps.sent = a.success + a.failure;
    ps.latency_ms = StatsFromMicros(a.latency_us);
    s.phases.push_back(ps);
  }
  s.pods = pods_;
  s.errors = errors_;
  s.write_error = info.write_error;
  return s;
}

namespace {

// Milliseconds and seconds to the microsecond and millisecond.
Json Num(double v) { return Rounded(v, 3); }

// Named statistics of `count` samples: null, all of them, without one.
Json StatsJson(int64_t count,
               std::initializer_list<std::pair<const char*, double>> stats) {
  Json j = Json::object();
  for (const auto& [name, value] : stats) {
    j[name] = count == 0 ? Json(nullptr) : Num(value);
  }
  return j;
}

Json LatencyJson(const LatencyStats& l) {
  return StatsJson(l.count, {{"min", l.min},
                             {"mean", l.mean},
                             {"p50", l.p50},
                             {"p90", l.p90},
                             {"p95", l.p95},
                             {"p99", l.p99},
                             {"p999", l.p999},
                             {"max", l.max}});
}

Json LagJson(const LagStats& l) {
  return StatsJson(l.count, {{"p50", l.p50}, {"p99", l.p99}, {"max", l.max}});
}

Json PhaseJson(const PhaseSummary& p) {
  return Json{{"index", p.index},
              {"spec", p.spec},
              {"kind", p.kind},
              {"start_s", Num(p.start_s)},
              {"duration_s", Num(p.duration_s)},
              {"expected", Num(p.expected)},
              {"scheduled", p.scheduled},
              {"sent", p.sent},
              {"success", p.success},
              {"failure", p.failure},
              {"dropped", p.dropped},
              {"latency_ms", LatencyJson(p.latency_ms)}};
}

std::string TextLatency(const LatencyStats& l) {
  if (l.count == 0) return "no samples";
  return absl::StrFormat(
      "min %.3f  mean %.3f  p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  "
      "p99.9 %.3f  max %.3f",
      l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max);
}

std::string TextCounts(const std::map<std::string, int64_t>& m) {
  if (m.empty()) return "none";
  std::string out;
  for (const auto& [k, v] : m) {
    absl::StrAppend(&out, out.empty() ? "" : "  ", k.empty() ? "(none)" : k,
                    " ", v);
  }
  return out;
}

}  // namespace

std::string FormatSummaryJson(const Summary& s) {
  Json j = {{"target", s.target},
            {"schedule", s.schedule},
            {"arrivals", s.arrivals},
            {"scheduled", s.scheduled},
            {"sent", s.sent},
            {"success", s.success},
            {"failure", s.failure},
            {"dropped", s.dropped},
            {"warmup", s.warmup},
            {"duration_s", Num(s.duration_s)},
            {"achieved_rps", Num(s.achieved_rps)},
            {"latency_ms", LatencyJson(s.latency_ms)},
            {"intended_latency_ms", LatencyJson(s.intended_latency_ms)},
            {"lag_ms", LagJson(s.lag_ms)},
            {"breakdown", BreakdownJson(s.breakdown)}};
  j["phases"] = Json::array();
  for (const PhaseSummary& p : s.phases) j["phases"].push_back(PhaseJson(p));
  j["pods"] = Json(s.pods);
  j["errors"] = Json(s.errors);
  if (!s.thresholds.empty()) j["thresholds"] = ThresholdsJson(s.thresholds);
  j["write_error"] = s.write_error ? Json(*s.write_error) : Json(nullptr);
  return JsonText(j, 2) + "\n";
}

std::string FormatSummaryText(const Summary& s) {
  std::string out;
  absl::StrAppendFormat(&out, "target        %s\n", s.target);
  absl::StrAppendFormat(&out, "schedule      %s (%s arrivals)\n", s.schedule,
                        s.arrivals);
  absl::StrAppendFormat(&out,
                        "requests      scheduled %d  sent %d  success %d  "
                        "failure %d  dropped %d  warm-up %d\n",
                        s.scheduled, s.sent, s.success, s.failure, s.dropped,
                        s.warmup);
  absl::StrAppendFormat(&out, "duration      %.3f s  achieved %.3f rps\n",
                        s.duration_s, s.achieved_rps);
  absl::StrAppendFormat(&out, "latency ms    %s\n", TextLatency(s.latency_ms));
  absl::StrAppendFormat(&out, "intended ms   %s\n",
                        TextLatency(s.intended_latency_ms));
  if (s.lag_ms.count == 0) {
    absl::StrAppend(&out, "lag ms        no samples\n");
  } else {
    absl::StrAppendFormat(&out, "lag ms        p50 %.3f  p99 %.3f  max %.3f\n",
                          s.lag_ms.p50, s.lag_ms.p99, s.lag_ms.max);
  }
  out += BreakdownText(s.breakdown);
  for (const PhaseSummary& p : s.phases) {
    absl::StrAppendFormat(
        &out, "phase %-7d %s: scheduled %d  success %d  failure %d  dropped %d",
        p.index, p.spec, p.scheduled, p.success, p.failure, p.dropped);
    if (p.latency_ms.count > 0) {
      absl::StrAppendFormat(&out, "  p50 %.3f  p99 %.3f ms", p.latency_ms.p50,
                            p.latency_ms.p99);
    }
    out += "\n";
  }
  absl::StrAppendFormat(&out, "pods          %s\n", TextCounts(s.pods));
  absl::StrAppendFormat(&out, "errors        %s\n", TextCounts(s.errors));
  absl::StrAppendFormat(&out, "write error   %s\n",
                        s.write_error ? *s.write_error : "none");
  if (!s.thresholds.empty()) {
    absl::StrAppendFormat(&out, "thresholds    %s\n",
                          FormatThresholdsText(s.thresholds));
  }
  return out;
}

}  // namespace knbench::load_driver
