#include "knbench/load_driver/row.h"

#include "absl/strings/str_cat.h"
#include "knbench/common/grpc_codes.h"

namespace knbench::load_driver {

const char kCsvHeader[] =
    "timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,"
    "intended_latency_us,lag_us,grpc_code,pod,server_spin_us,activator_wait_us,"
    "queue_wait_us,phase,warmup";

const char* RowStatusName(RowStatus s) {
  switch (s) {
    case RowStatus::kSuccess:
      return "success";
    case RowStatus::kFailure:
      return "failure";
    case RowStatus::kDropped:
      return "dropped";
  }
  return "failure";
}

namespace {

// Pod names come from the network: keep the CSV parseable whatever they hold.
void AppendField(absl::string_view s, std::string* out) {
  if (s.find_first_of(",\"\n\r") == absl::string_view::npos) {
    out->append(s.data(), s.size());
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
  out->push_back('"');
}

// A wait the router reported, else an empty field.
void AppendWait(int64_t us, std::string* out) {
  out->push_back(',');
  if (us >= 0) absl::StrAppend(out, us);
}

}  // namespace

void AppendCsvRow(const Row& r, std::string* out) {
  const bool dropped = r.status == RowStatus::kDropped;
  absl::StrAppend(out, r.intended_unix_ns / 1000000, ",", r.rps, ",", r.spin_ms,
                  ",", r.seq, ",");
  if (!dropped) absl::StrAppend(out, r.latency_us / 1000);
  absl::StrAppend(out, ",", RowStatusName(r.status), ",");
  if (!dropped) {
    absl::StrAppend(out, r.latency_us, ",", r.intended_latency_us);
  } else {
    out->push_back(',');
  }
  absl::StrAppend(out, ",", r.lag_us, ",", GrpcCodeName(r.grpc_code), ",");
  AppendField(r.pod, out);
  absl::StrAppend(out, ",");
  if (r.status == RowStatus::kSuccess) absl::StrAppend(out, r.server_spin_us);
  AppendWait(r.waits.activator_us, out);
  AppendWait(r.waits.queue_us, out);
  absl::StrAppend(out, ",", r.phase, ",", r.warmup ? "1\n" : "0\n");
}

}  // namespace knbench::load_driver
