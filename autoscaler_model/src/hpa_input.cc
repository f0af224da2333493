#include "knbench/autoscaler_model/hpa_input.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/common/csv.h"

namespace knbench::autoscaler_model {
namespace {

// Keeps times in whole milliseconds within int64, and sums of pod values
// (kMaxPodCount pods, in milli-units) within int64.
constexpr double kMaxAbsSeconds = 1e12;
constexpr int64_t kMaxMillicores = 1'000'000'000;
constexpr int64_t kMaxMemoryBytes = int64_t{1} << 38;  // 256 GiB
constexpr absl::Duration kMaxSpan = absl::Hours(24 * 7);

absl::Status Bad(int64_t line, absl::string_view name,
                 absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line, ": bad ", name, " \"", value, "\""));
}

std::optional<absl::Duration> ParseSeconds(absl::string_view text) {
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v) ||
      std::fabs(v) > kMaxAbsSeconds) {
    return std::nullopt;
  }
  return absl::Milliseconds(std::llround(v * 1000));
}

// An empty cell is no value; otherwise a whole number in [0, max].
bool ParseCount(absl::string_view text, int64_t max,
                std::optional<int64_t>* out) {
  out->reset();
  if (text.empty()) return true;
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 0 || v > max) return false;
  *out = v;
  return true;
}

struct Columns {
  size_t count = 0;
  size_t time = 0, pod = 0, cpu = 0, ready = 0;
  std::optional<size_t> memory, start, ready_since;
};

absl::StatusOr<Columns> FindColumns(const std::vector<std::string>& header,
                                    HpaMetric metric) {
  auto find = [&](absl::string_view name) -> std::optional<size_t> {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    return std::nullopt;
  };
  const auto time = find("time_s");
  const auto pod = find("pod");
  const auto cpu = find("cpu_millicores");
  const auto ready = find("ready");
  if (!time || !pod || !cpu || !ready) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header needs time_s, pod, cpu_millicores and ready; it has ",
        absl::StrJoin(header, ",")));
  }
  Columns c{header.size(),
            *time,
            *pod,
            *cpu,
            *ready,
            find("memory_bytes"),
            find("start_s"),
            find("ready_since_s")};
  if (metric == HpaMetric::kMemory && !c.memory) {
    return absl::InvalidArgumentError(
        "the memory metric needs a memory_bytes column");
  }
  return c;
}

// One row as read: `pod` holds what the row gives; start and ready_since
// are resolved later when the row does not give them.
struct Row {
  absl::Duration time;
  HpaPod pod;
  bool has_start = false;        // a start_s column (an empty cell: Pending)
  bool has_ready_since = false;  // a ready_since_s value
};

absl::StatusOr<Row> ParseRow(int64_t line, const std::vector<std::string>& f,
                             const Columns& c) {
  Row r;
  const auto time = ParseSeconds(f[c.time]);
  if (!time) return Bad(line, "time_s", f[c.time]);
  r.time = *time;
  r.pod.name = f[c.pod];
  if (r.pod.name.empty()) return Bad(line, "pod", f[c.pod]);
  if (!ParseCount(f[c.cpu], kMaxMillicores, &r.pod.cpu_millicores)) {
    return Bad(line, "cpu_millicores", f[c.cpu]);
  }
  if (f[c.ready] != "0" && f[c.ready] != "1") {
    return Bad(line, "ready", f[c.ready]);
  }
  r.pod.ready = f[c.ready] == "1";
  if (c.memory &&
      !ParseCount(f[*c.memory], kMaxMemoryBytes, &r.pod.memory_bytes)) {
    return Bad(line, "memory_bytes", f[*c.memory]);
  }
  if (c.start) {
    r.has_start = true;
    if (!f[*c.start].empty()) {
      r.pod.start = ParseSeconds(f[*c.start]);
      if (!r.pod.start) return Bad(line, "start_s", f[*c.start]);
    }
  }
  if (c.ready_since && !f[*c.ready_since].empty()) {
    const auto since = ParseSeconds(f[*c.ready_since]);
    if (!since) return Bad(line, "ready_since_s", f[*c.ready_since]);
    r.has_ready_since = true;
    r.pod.ready_since = *since;
  }
  return r;
}

// The rows grouped by time_s, checked for order, duplicates and size.
absl::StatusOr<std::vector<std::vector<Row>>> ReadRows(CsvReader& csv,
                                                       const Columns& c,
                                                       int64_t* rows) {
  std::vector<std::vector<Row>> groups;
  std::set<std::string> names;  // of the current group
  std::vector<std::string> fields;
  while (csv.Next(&fields)) {
    ++*rows;
    const int64_t line = csv.line();
    if (fields.size() != c.count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line, ": ", fields.size(), " fields, header has ", c.count));
    }
    absl::StatusOr<Row> row = ParseRow(line, fields, c);
    if (!row.ok()) return row.status();
    const std::string at = FormatHpaSeconds(row->time);
    if (groups.empty() || row->time > groups.back().front().time) {
      groups.emplace_back();
      names.clear();
    } else if (row->time < groups.back().front().time) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line, ": time_s ", at, " is before the previous row's ",
          FormatHpaSeconds(groups.back().front().time)));
    }
    if (!names.insert(row->pod.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line, ": pod \"", row->pod.name, "\" twice at time_s ", at));
    }
    if (groups.back().size() >= static_cast<size_t>(kMaxPodCount)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line, ": more than ", kMaxPodCount, " pods at time_s ", at));
    }
    groups.back().push_back(*std::move(row));
  }
  if (!csv.status().ok()) return csv.status();
  if (groups.empty()) {
    return absl::InvalidArgumentError("input has a header but no rows");
  }
  const absl::Duration span =
      groups.back().front().time - groups.front().front().time;
  if (span > kMaxSpan) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input spans ", FormatHpaSeconds(span), " s; more than a week"));
  }
  return groups;
}

// Fills what rows leave out (see hpa_input.h) and adds the pods a sample
// skips within their lifetime, without a metric.
std::vector<HpaSample> Resolve(const std::vector<std::vector<Row>>& groups,
                               absl::Duration initialization) {
  std::map<std::string, size_t> last;  // the last group a pod appears in
  for (size_t i = 0; i < groups.size(); ++i) {
    for (const Row& r : groups[i]) last[r.pod.name] = i;
  }
  std::map<std::string, HpaPod> state;  // each pod's latest resolved row
  std::vector<HpaSample> samples;
  for (size_t i = 0; i < groups.size(); ++i) {
    HpaSample s;
    s.time = groups[i].front().time;
    std::set<std::string> seen;
    for (const Row& r : groups[i]) {
      const auto it = state.find(r.pod.name);
      const HpaPod* prev = it == state.end() ? nullptr : &it->second;
      HpaPod pod = r.pod;
      if (!r.has_start) {
        pod.start = prev != nullptr ? prev->start
                    : i == 0        ? s.time - initialization
                                    : s.time;
      }
      if (!r.has_ready_since) {
        pod.ready_since = prev == nullptr ? pod.start.value_or(s.time)
                          : prev->ready == pod.ready ? prev->ready_since
                                                     : s.time;
      }
      seen.insert(pod.name);
      state[pod.name] = pod;
      s.pods.push_back(std::move(pod));
    }
    for (const auto& [name, pod] : state) {
      if (seen.count(name) == 0 && last[name] > i) {
        HpaPod gap = pod;
        gap.cpu_millicores.reset();
        gap.memory_bytes.reset();
        s.pods.push_back(std::move(gap));
      }
    }
    samples.push_back(std::move(s));
  }
  return samples;
}

std::string Cell(const std::optional<int64_t>& value) {
  return value.has_value() ? absl::StrCat(*value) : std::string();
}

// Quoted (RFC 4180) when the name would not read back as written.
std::string NameField(absl::string_view name) {
  if (name.find_first_of(",\"\r\n \t") == absl::string_view::npos) {
    return std::string(name);
  }
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

}  // namespace

absl::StatusOr<HpaInput> ReadHpaSamples(std::istream& in,
                                        const HpaConfig& config) {
  CsvReader csv(in);
  std::vector<std::string> header;
  if (!csv.Next(&header)) {
    if (!csv.status().ok()) return csv.status();
    return absl::InvalidArgumentError("input is empty");
  }
  absl::StatusOr<Columns> columns =
      FindColumns(header, MakeHpaSpec(config).metric);
  if (!columns.ok()) return columns.status();
  HpaInput out;
  auto groups = ReadRows(csv, *columns, &out.rows);
  if (!groups.ok()) return groups.status();
  out.samples = Resolve(*groups, config.cpu_initialization_period);
  return out;
}

const char kHpaSamplesCsvHeader[] =
    "time_s,pod,cpu_millicores,ready,memory_bytes,start_s,ready_since_s\n";

std::string FormatHpaSample(const HpaSample& sample) {
  std::string out;
  const std::string time = FormatHpaSeconds(sample.time);
  for (const HpaPod& p : sample.pods) {
    absl::StrAppend(&out, time, ",", NameField(p.name), ",",
                    Cell(p.cpu_millicores), ",", p.ready ? "1" : "0", ",",
                    Cell(p.memory_bytes), ",",
                    p.start ? FormatHpaSeconds(*p.start) : "", ",",
                    FormatHpaSeconds(p.ready_since), "\n");
  }
  return out;
}

std::string FormatHpaSeconds(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  const int64_t whole = ms / 1000;
  const int64_t fraction = std::llabs(ms % 1000);
  std::string out =
      ms < 0 && whole == 0 ? std::string("-0") : absl::StrCat(whole);
  if (fraction == 0) return out;
  std::string digits = absl::StrFormat("%03d", fraction);
  while (digits.back() == '0') digits.pop_back();
  return absl::StrCat(out, ".", digits);
}

}  // namespace knbench::autoscaler_model
