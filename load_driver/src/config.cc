#include "knbench/load_driver/config.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "knbench/common/net.h"

namespace knbench::load_driver {
namespace {

// The file a path names, as well as can be told without creating it: made
// absolute, with "." and ".." and symlinks of existing parts resolved.
std::filesystem::path FileIdentity(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  std::filesystem::path p = std::filesystem::weakly_canonical(absolute, ec);
  return ec ? absolute.lexically_normal() : p;
}

}  // namespace

std::string SummaryPathFor(const std::string& out) {
  absl::string_view base = out;
  absl::ConsumeSuffix(&base, ".csv");
  return absl::StrCat(base, ".summary.json");
}

bool HasH2Transport() {
#ifdef KNBENCH_HAVE_NGHTTP2
  return true;
#else
  return false;
#endif
}

namespace {

// The flags that are plain values in a range.
absl::Status CheckRanges(const Config* c) {
  if (c->spin_ms < 0 || c->spin_ms > 600000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--spin-ms must be in [0, 600000], got ", c->spin_ms));
  }
  if (c->out.empty()) return absl::InvalidArgumentError("--out is empty");
  if (c->metrics_port < 0 || c->metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-port must be in [0, 65535], got ", c->metrics_port));
  }
  if (absl::Status st = CheckBindAddress(c->bind, "--bind"); !st.ok()) {
    return st;
  }
  if (c->connections < 1 || c->connections > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--connections must be in [1, 1024], got ", c->connections));
  }
  if (c->max_inflight < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-inflight must be >= 1, got ", c->max_inflight));
  }
  return absl::OkStatus();
}

absl::Status CheckDurations(const Config* c) {
  if (c->pacing_quantum < absl::ZeroDuration() ||
      c->pacing_quantum > absl::Milliseconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--pacing-quantum must be in [0, 10ms], got ",
                     absl::FormatDuration(c->pacing_quantum)));
  }
  if (c->timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout must be > 0, got ", absl::FormatDuration(c->timeout)));
  }
  if (c->connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--connect-timeout must be > 0, got ",
                     absl::FormatDuration(c->connect_timeout)));
  }
  if (c->progress_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--progress-interval must be >= 0 (0: off)");
  }
  if (c->linger < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--linger must be >= 0, got ", absl::FormatDuration(c->linger)));
  }
  if (c->warmup < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--warmup must be >= 0, got ", absl::FormatDuration(c->warmup)));
  }
  return absl::OkStatus();
}

// "auto" becomes h2 for host:port targets (when built with nghttp2), grpc
// for gRPC's own schemes.
absl::Status ResolveTransport(Config* c) {
  if (c->transport == "auto") {
    c->transport =
        HasH2Transport() && c->endpoint.has_host_port() ? "h2" : "grpc";
  } else if (c->transport == "h2") {
    if (!HasH2Transport()) {
      return absl::InvalidArgumentError(
          "--transport=h2: this build has no nghttp2 (libnghttp2-dev); use "
          "--transport=grpc");
    }
    if (!c->endpoint.has_host_port()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--transport=h2 dials host:port targets only; --target "
                       "\"",
                       c->target, "\" is not host:port"));
    }
  } else if (c->transport != "grpc") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--transport must be auto, h2 or grpc, got \"", c->transport, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveConfig(Config* c) {
  absl::StatusOr<Target> target = Target::Parse(c->target);
  if (!target.ok()) return target.status();
  c->endpoint = *std::move(target);
  if (absl::Status st = CheckRanges(c); !st.ok()) return st;
  if (absl::Status st = ResolveTransport(c); !st.ok()) return st;
  if (absl::Status st = CheckDurations(c); !st.ok()) return st;
  if (absl::Status st = tracing::CheckTracingSettings(c->tracing); !st.ok()) {
    return st;
  }
  if (c->drain_timeout_text.empty()) {
    c->drain_timeout = c->timeout;
  } else if (!absl::ParseDuration(c->drain_timeout_text, &c->drain_timeout) ||
             c->drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--drain-timeout \"", c->drain_timeout_text,
                     "\" is not a duration >= 0 (e.g. 30s)"));
  }
  auto arrivals = ParseArrivals(c->arrivals_name);
  if (!arrivals.ok()) return arrivals.status();
  c->arrivals = *arrivals;

  absl::StatusOr<Schedule> s = c->schedule_spec.empty()
                                   ? Schedule::Constant(c->rps, c->duration)
                                   : Schedule::Parse(c->schedule_spec);
  if (!s.ok()) return s.status();
  c->schedule.emplace(std::move(*s));
  if (c->warmup >= c->schedule->length()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--warmup ", absl::FormatDuration(c->warmup),
                     " covers the whole schedule (",
                     absl::FormatDuration(c->schedule->length()),
                     "): nothing would be measured"));
  }
  c->summary_path = c->summary.empty() ? SummaryPathFor(c->out) : c->summary;
  if (FileIdentity(c->summary_path) == FileIdentity(c->out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--summary ", c->summary_path,
                     " is the --out file: the summary would replace the CSV"));
  }
  return absl::OkStatus();
}

std::string DescribeConfig(const Config& c) {
  std::string out;
  absl::StrAppendFormat(&out, "target            %s\n", c.target);
  absl::StrAppendFormat(&out, "spin_ms           %d\n", c.spin_ms);
  absl::StrAppendFormat(&out, "schedule          %s\n",
                        c.schedule ? c.schedule->spec() : c.schedule_spec);
  absl::StrAppendFormat(&out, "arrivals          %s (seed %d)\n",
                        ArrivalsName(c.arrivals), c.seed);
  absl::StrAppendFormat(&out, "warmup            %s\n",
                        absl::FormatDuration(c.warmup));
  absl::StrAppendFormat(&out, "out               %s\n", c.out);
  absl::StrAppendFormat(&out, "summary           %s\n", c.summary_path);
  absl::StrAppendFormat(&out, "metrics_port      %d\n", c.metrics_port);
  absl::StrAppendFormat(&out, "bind              %s\n", c.bind);
  absl::StrAppendFormat(&out, "connections       %d\n", c.connections);
  absl::StrAppendFormat(&out, "transport         %s\n", c.transport);
  absl::StrAppendFormat(&out, "timeout           %s\n",
                        absl::FormatDuration(c.timeout));
  absl::StrAppendFormat(&out, "connect_timeout   %s\n",
                        absl::FormatDuration(c.connect_timeout));
  absl::StrAppendFormat(&out, "drain_timeout     %s\n",
                        absl::FormatDuration(c.drain_timeout));
  absl::StrAppendFormat(&out, "max_inflight      %d\n", c.max_inflight);
  absl::StrAppendFormat(&out, "pacing_quantum    %s\n",
                        absl::FormatDuration(c.pacing_quantum));
  absl::StrAppendFormat(&out, "progress_interval %s\n",
                        absl::FormatDuration(c.progress_interval));
  absl::StrAppendFormat(&out, "linger            %s\n",
                        absl::FormatDuration(c.linger));
  absl::StrAppendFormat(&out, "fail_fast         %s\n",
                        c.fail_fast ? "true" : "false");
  absl::StrAppendFormat(&out, "trace_sample_rate %g\n", c.tracing.sample_rate);
  absl::StrAppendFormat(&out, "otlp_endpoint     %s\n",
                        c.tracing.otlp_endpoint);
  absl::StrAppendFormat(&out, "trace_out         %s\n", c.tracing.trace_out);
  if (c.schedule) {
    absl::StrAppend(&out, c.schedule->Describe());
    if (c.arrivals == Arrivals::kUniform) {
      absl::StrAppendFormat(&out, "requests          %d (uniform arrivals)\n",
                            c.schedule->UniformCount());
    } else {
      // A Poisson process's count is random; only its mean is known.
      absl::StrAppendFormat(
          &out,
          "requests          %.0f expected (poisson arrivals: the count is "
          "random)\n",
          c.schedule->expected());
    }
  }
  return out;
}

}  // namespace knbench::load_driver
