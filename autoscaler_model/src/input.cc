#include "knbench/autoscaler_model/input.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "knbench/common/csv.h"

namespace knbench::autoscaler_model {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
// Guards against a corrupt row asking for an absurd series length.
constexpr int64_t kMaxSeconds = 7 * 24 * 3600;
constexpr int64_t kMaxSpanUs = kMaxSeconds * kMicrosPerSecond;
// Year 2286: keeps ts_ms * 1000 far from overflow.
constexpr int64_t kMaxEpochMs = 10'000'000'000'000;

std::optional<size_t> Column(const std::vector<std::string>& header,
                             const char* name) {
  auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<size_t>(it - header.begin());
}

absl::Status BadField(int64_t line_no, const char* name,
                      const std::string& value) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line_no, ": bad ", name, " \"", value, "\""));
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Calls `row` with the line number and fields of each record after the
// header, stopping at the first error: a record whose field count differs
// from the header's, a broken quote, or whatever `row` returns.
absl::Status ForEachRow(
    CsvReader& csv, size_t columns,
    const std::function<absl::Status(int64_t, const std::vector<std::string>&)>&
        row) {
  std::vector<std::string> fields;
  while (csv.Next(&fields)) {
    if (fields.size() != columns) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", csv.line(), ": ", fields.size(),
                       " fields, header has ", columns));
    }
    if (absl::Status status = row(csv.line(), fields); !status.ok()) {
      return status;
    }
  }
  return csv.status();
}

// The driver CSV's requests as [send, done) spans in epoch microseconds,
// and the earliest time any row (dropped ones too) mentions.
struct DriverSpans {
  int64_t rows = 0;
  std::vector<std::pair<int64_t, int64_t>> spans;
  int64_t origin_us = std::numeric_limits<int64_t>::max();
};

absl::StatusOr<DriverSpans> ReadDriverSpans(
    CsvReader& csv, const std::vector<std::string>& header) {
  const auto c_ts = Column(header, "timestamp_ms");
  const auto c_status = Column(header, "status");
  const auto c_lat_us = Column(header, "latency_us");
  const auto c_lat_ms = Column(header, "latency_ms");
  const auto c_lag = Column(header, "lag_us");
  if (!c_ts || !c_status || (!c_lat_us && !c_lat_ms)) {
    return absl::InvalidArgumentError(
        "driver CSV needs timestamp_ms, status and latency_us (or latency_ms)");
  }
  // Older CSVs (the original Go driver) have only whole-ms latency and no lag.
  const size_t c_lat = c_lat_us ? *c_lat_us : *c_lat_ms;
  const int64_t lat_scale = c_lat_us ? 1 : 1000;
  DriverSpans out;
  absl::Status rows_status = ForEachRow(
      csv, header.size(),
      [&](int64_t line_no, const std::vector<std::string>& f) -> absl::Status {
        ++out.rows;
        int64_t ts_ms = 0;
        if (!absl::SimpleAtoi(f[*c_ts], &ts_ms) || ts_ms < 0 ||
            ts_ms > kMaxEpochMs) {
          return BadField(line_no, "timestamp_ms", f[*c_ts]);
        }
        const std::string& status = f[*c_status];
        if (status == "dropped") {
          // Never sent, so never in flight; it still fixes the time origin.
          out.origin_us = std::min(out.origin_us, ts_ms * 1000);
          return absl::OkStatus();
        }
        if (status != "success" && status != "failure") {
          return BadField(line_no, "status", status);
        }
        int64_t lag_us = 0;
        if (c_lag && !f[*c_lag].empty() &&
            (!absl::SimpleAtoi(f[*c_lag], &lag_us) || lag_us < -kMaxSpanUs ||
             lag_us > kMaxSpanUs)) {
          return BadField(line_no, "lag_us", f[*c_lag]);
        }
        int64_t latency = 0;
        if (!absl::SimpleAtoi(f[c_lat], &latency) || latency < 0 ||
            latency * lat_scale > kMaxSpanUs) {
          return BadField(line_no, c_lat_us ? "latency_us" : "latency_ms",
                          f[c_lat]);
        }
        const int64_t send_us = ts_ms * 1000 + lag_us;
        out.origin_us = std::min({out.origin_us, ts_ms * 1000, send_us});
        out.spans.emplace_back(send_us, send_us + latency * lat_scale);
        return absl::OkStatus();
      });
  if (!rows_status.ok()) return rows_status;
  if (out.rows == 0) {
    return absl::InvalidArgumentError("input has a header but no rows");
  }
  return out;
}

// Per second from the input's first: requests sent, and the time-average of
// requests in flight (each second gets the fraction of it a request was in
// flight; whole seconds go through a difference array so long requests cost
// O(1)).
absl::StatusOr<InputSeries> SecondsOfSpans(const DriverSpans& in) {
  const int64_t origin = FloorDiv(in.origin_us, kMicrosPerSecond) *
                         kMicrosPerSecond;  // the input's first second
  // Up to the second in which the last request was sent or completed.
  int64_t seconds = 1;
  for (const auto& [a, b] : in.spans) {
    const int64_t sent = (a - origin) / kMicrosPerSecond + 1;
    const int64_t done = (b - origin + kMicrosPerSecond - 1) / kMicrosPerSecond;
    seconds = std::max({seconds, sent, done});
  }
  if (seconds > kMaxSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("input spans ", seconds, " s; more than a week"));
  }
  InputSeries out;
  out.kind = InputSeries::Kind::kDriverCsv;
  out.rows = in.rows;
  out.concurrency.assign(static_cast<size_t>(seconds), 0.0);
  out.rps.assign(static_cast<size_t>(seconds), 0.0);
  std::vector<double> whole(static_cast<size_t>(seconds) + 1, 0.0);
  for (const auto& [abs_a, abs_b] : in.spans) {
    const int64_t a = abs_a - origin;
    const int64_t b = abs_b - origin;
    const int64_t sa = a / kMicrosPerSecond;
    const int64_t sb = b / kMicrosPerSecond;
    out.rps[static_cast<size_t>(sa)] += 1;
    if (sa == sb) {
      out.concurrency[static_cast<size_t>(sa)] +=
          static_cast<double>(b - a) / kMicrosPerSecond;
      continue;
    }
    out.concurrency[static_cast<size_t>(sa)] +=
        static_cast<double>((sa + 1) * kMicrosPerSecond - a) / kMicrosPerSecond;
    if (b > sb * kMicrosPerSecond) {
      out.concurrency[static_cast<size_t>(sb)] +=
          static_cast<double>(b - sb * kMicrosPerSecond) / kMicrosPerSecond;
    }
    whole[static_cast<size_t>(sa + 1)] += 1;
    whole[static_cast<size_t>(sb)] -= 1;
  }
  double running = 0;
  for (size_t s = 0; s < out.concurrency.size(); ++s) {
    running += whole[s];
    out.concurrency[s] += running;
  }
  return out;
}

absl::StatusOr<InputSeries> ReadDriverCsv(
    CsvReader& csv, const std::vector<std::string>& header) {
  absl::StatusOr<DriverSpans> spans = ReadDriverSpans(csv, header);
  if (!spans.ok()) return spans.status();
  return SecondsOfSpans(*spans);
}

// One sample of a time_s,value[,ready_pods] input.
struct PlainRow {
  double time;
  double value;
  std::optional<int32_t> ready;
};

absl::StatusOr<std::vector<PlainRow>> ReadPlainRows(
    CsvReader& csv, const std::vector<std::string>& header) {
  const size_t c_time = *Column(header, "time_s");
  const size_t c_value = *Column(header, "value");
  const auto c_ready = Column(header, "ready_pods");
  std::vector<PlainRow> rows;
  absl::Status rows_status = ForEachRow(
      csv, header.size(),
      [&](int64_t line_no, const std::vector<std::string>& f) -> absl::Status {
        PlainRow r{};
        if (!absl::SimpleAtod(f[c_time], &r.time) || !std::isfinite(r.time)) {
          return BadField(line_no, "time_s", f[c_time]);
        }
        if (!absl::SimpleAtod(f[c_value], &r.value) ||
            !std::isfinite(r.value) || r.value < 0) {
          return BadField(line_no, "value", f[c_value]);
        }
        if (c_ready && !f[*c_ready].empty()) {
          int32_t ready = 0;
          if (!absl::SimpleAtoi(f[*c_ready], &ready) || ready < 0) {
            return BadField(line_no, "ready_pods", f[*c_ready]);
          }
          r.ready = ready;
        }
        rows.push_back(r);
        return absl::OkStatus();
      });
  if (!rows_status.ok()) return rows_status;
  if (rows.empty()) {
    return absl::InvalidArgumentError("input has a header but no rows");
  }
  return rows;
}

// A pod count holds until the next sample says otherwise (before the first
// sample: the first sample's).
std::vector<int32_t> CarriedForward(
    const std::vector<std::optional<int32_t>>& ready) {
  int32_t carry = 0;
  for (const auto& r : ready) {
    if (r) {
      carry = *r;
      break;
    }
  }
  std::vector<int32_t> out(ready.size());
  for (size_t s = 0; s < ready.size(); ++s) {
    if (ready[s]) carry = *ready[s];
    out[s] = carry;
  }
  return out;
}

absl::StatusOr<InputSeries> SecondsOfPlainRows(
    const std::vector<PlainRow>& rows) {
  double first = rows[0].time;
  double last = rows[0].time;
  for (const PlainRow& r : rows) {
    first = std::min(first, r.time);
    last = std::max(last, r.time);
  }
  const double origin = std::floor(first);
  if (!(last - origin < static_cast<double>(kMaxSeconds))) {
    return absl::InvalidArgumentError(
        absl::StrCat("input spans ", last - origin, " s; more than a week"));
  }
  const int64_t seconds = static_cast<int64_t>(std::floor(last - origin)) + 1;
  InputSeries out;
  out.kind = InputSeries::Kind::kPlainCsv;
  out.rows = static_cast<int64_t>(rows.size());
  out.values.assign(static_cast<size_t>(seconds), 0.0);
  std::vector<int> counts(static_cast<size_t>(seconds), 0);
  std::vector<std::optional<int32_t>> ready(static_cast<size_t>(seconds));
  bool any_ready = false;
  for (const PlainRow& r : rows) {
    const auto s = static_cast<size_t>(std::floor(r.time - origin));
    out.values[s] += r.value;
    ++counts[s];
    if (r.ready) {
      ready[s] = r.ready;
      any_ready = true;
    }
  }
  // Several samples in one second are averaged; missing seconds stay 0.
  for (size_t s = 0; s < out.values.size(); ++s) {
    if (counts[s] > 1) out.values[s] /= counts[s];
  }
  if (any_ready) out.ready_pods = CarriedForward(ready);
  return out;
}

absl::StatusOr<InputSeries> ReadPlainCsv(
    CsvReader& csv, const std::vector<std::string>& header) {
  absl::StatusOr<std::vector<PlainRow>> rows = ReadPlainRows(csv, header);
  if (!rows.ok()) return rows.status();
  return SecondsOfPlainRows(*rows);
}

}  // namespace

absl::StatusOr<InputSeries> ReadInput(std::istream& in) {
  CsvReader csv(in);
  std::vector<std::string> header;
  if (!csv.Next(&header)) {
    if (!csv.status().ok()) return csv.status();
    return absl::InvalidArgumentError("input is empty");
  }
  if (Column(header, "timestamp_ms") && Column(header, "status")) {
    return ReadDriverCsv(csv, header);
  }
  if (Column(header, "time_s") && Column(header, "value")) {
    return ReadPlainCsv(csv, header);
  }
  return absl::InvalidArgumentError(
      "unrecognised header: expected the load driver's CSV "
      "(timestamp_ms,...,status,...) or time_s,value[,ready_pods]");
}

MetricSeries SeriesFor(const InputSeries& input, Metric metric) {
  MetricSeries series;
  if (input.kind == InputSeries::Kind::kPlainCsv) {
    series.values = input.values;
    series.ready_pods = input.ready_pods;
  } else {
    series.values = metric == Metric::kRps ? input.rps : input.concurrency;
  }
  return series;
}

}  // namespace knbench::autoscaler_model
