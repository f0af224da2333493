// The worker: a gRPC server that busy-spins for the time each request asks,
// deployed as a Knative Service. See --help.
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "knbench/common/binary.h"
#include "knbench/common/env.h"
#include "knbench/common/flags.h"
#include "knbench/common/log.h"
#include "knbench/common/metrics_endpoint.h"
#include "knbench/common/net.h"
#include "knbench/common/shutdown.h"
#include "knbench/tracing/flags.h"
#include "knbench/worker/worker_server.h"

ABSL_FLAG(int32_t, grpc_port, 50051,
          "gRPC port. Default from env PORT (Knative injects it), then "
          "GRPC_PORT; a flag given explicitly wins. 0 picks a free port.");
ABSL_FLAG(int32_t, metrics_port, 2112,
          "Port serving /metrics and /healthz. Default from env METRICS_PORT.");
ABSL_FLAG(std::string, bind, knbench::kDefaultBindAddress,
          "Address both ports listen on: 0.0.0.0 (all IPv4 interfaces, as a "
          "container needs), 127.0.0.1 for this machine only, or any numeric "
          "IPv4/IPv6 address.");
ABSL_FLAG(std::string, spin_clock, "wall",
          "What duration_ms measures: 'wall' (wall time, as the original; "
          "concurrent spins share the CPU and each ends on time) or 'cpu' "
          "(the thread's CPU time: fixed work, latency grows under "
          "contention).");
ABSL_FLAG(int32_t, max_inflight, 1000,
          "Calls served at once; beyond it a call gets RESOURCE_EXHAUSTED. "
          "Each connection also carries at most this many + 100 HTTP/2 "
          "streams.");
ABSL_FLAG(int64_t, max_duration_ms, 600000,
          "Largest duration_ms accepted; larger or negative gets "
          "INVALID_ARGUMENT.");
ABSL_FLAG(int32_t, spin_nice, 10,
          "Niceness (0..19) of the spinning threads: above 0 they yield the "
          "CPU to gRPC's I/O threads (and to a driver on the same machine), so "
          "saturating spins do not delay receiving and answering calls. 0 "
          "gives them the same priority, as the original's goroutines.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(30),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish "
          "before they are cancelled.");
ABSL_FLAG(bool, check_config, false,
          "Resolve flags and environment, print the configuration, exit.");

namespace {

constexpr char kUsage[] = R"(worker: burns CPU for the time each gRPC call asks.

Serves load_worker.LoadWorker/InvokeWorker (WorkRequest.duration_ms), the
grpc.health.v1 health service and server reflection on --grpc-port, and
Prometheus metrics on --metrics-port (/metrics, /healthz).

Environment:
  PORT          gRPC port (Knative sets it); wins over GRPC_PORT
  GRPC_PORT     gRPC port
  METRICS_PORT  metrics port
  POD_NAME      instance name returned in every response (else the hostname)
Flags given on the command line win over the environment.

Tracing: with --otlp-endpoint or --trace-out, a call that carries a sampled
W3C traceparent gets a server span (its child) and a spin span, exported
in batches off the request path (tracing_spans_exported_total and
tracing_spans_dropped_total on /metrics).

Limits: a request of more than 64 KiB gets RESOURCE_EXHAUSTED, bytes that
are not a WorkRequest get INVALID_ARGUMENT (both counted in
worker_requests_total); gRPC buffers at most 128 MiB across connections.

Exit status: 0 after a clean shutdown, 1 if a port is in use or cannot be
bound (one line), 2 on bad flags or environment (or a --trace-out that
cannot be opened). A signal before the
servers are up exits at once with 128 + the signal.

Usage: worker [flags])";

[[noreturn]] void UsageError(absl::string_view message) {
  std::cerr << "worker: " << message << "\n";
  std::exit(2);
}

// The flags (and environment) resolved and checked.
struct Config {
  knbench::worker::WorkerOptions options;
  std::string bind;
  int grpc_port = 0;
  int metrics_port = 0;
  absl::Duration grace;
  knbench::tracing::TracingSettings tracing;
};

Config ResolveFlags() {
  absl::StatusOr<knbench::worker::SpinClock> clock =
      knbench::worker::ParseSpinClock(absl::GetFlag(FLAGS_spin_clock));
  if (!clock.ok()) UsageError(clock.status().message());
  const int grpc_port = absl::GetFlag(FLAGS_grpc_port);
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  for (const auto& [name, port] : {std::pair{"--grpc-port", grpc_port},
                                   std::pair{"--metrics-port", metrics_port}}) {
    if (port < 0 || port > 65535) {
      UsageError(
          absl::StrCat(name, "=", port, " is not a TCP port (0..65535)"));
    }
  }
  const std::string bind = absl::GetFlag(FLAGS_bind);
  if (absl::Status status = knbench::CheckBindAddress(bind, "--bind");
      !status.ok()) {
    UsageError(status.message());
  }
  if (absl::GetFlag(FLAGS_max_inflight) < 1) {
    UsageError("--max-inflight must be at least 1");
  }
  if (absl::GetFlag(FLAGS_spin_nice) < 0 ||
      absl::GetFlag(FLAGS_spin_nice) > 19) {
    UsageError("--spin-nice must be between 0 and 19");
  }
  if (absl::GetFlag(FLAGS_max_duration_ms) < 0) {
    UsageError("--max-duration-ms must not be negative");
  }
  if (absl::GetFlag(FLAGS_shutdown_grace) < absl::ZeroDuration()) {
    UsageError("--shutdown-grace must not be negative");
  }

  absl::StatusOr<knbench::tracing::TracingSettings> tracing =
      knbench::tracing::TracingSettingsFromFlags();
  if (!tracing.ok()) UsageError(tracing.status().message());

  Config c;
  c.tracing = *std::move(tracing);
  c.bind = bind;
  c.grpc_port = grpc_port;
  c.metrics_port = metrics_port;
  c.grace = absl::GetFlag(FLAGS_shutdown_grace);
  c.options.spin_clock = *clock;
  c.options.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  c.options.max_duration_ms = absl::GetFlag(FLAGS_max_duration_ms);
  c.options.spin_nice = absl::GetFlag(FLAGS_spin_nice);
  c.options.instance_name = knbench::InstanceName();
  c.options.trace_sample_rate = c.tracing.sample_rate;
  return c;
}

void PrintConfig(const Config& c) {
  std::cout << "bind=" << c.bind << "\ngrpc_port=" << c.grpc_port
            << "\nmetrics_port=" << c.metrics_port << "\nspin_clock="
            << knbench::worker::SpinClockName(c.options.spin_clock)
            << "\nmax_inflight=" << c.options.max_inflight
            << "\nmax_duration_ms=" << c.options.max_duration_ms
            << "\nspin_nice=" << c.options.spin_nice
            << "\nshutdown_grace=" << absl::FormatDuration(c.grace)
            << "\ninstance=" << c.options.instance_name
            << "\notlp_endpoint=" << c.tracing.otlp_endpoint
            << "\ntrace_out=" << c.tracing.trace_out
            << "\ntrace_sample_rate=" << c.tracing.sample_rate << "\n";
}

// Both servers until a signal, then the drain. The exit status.
int Serve(const Config& c, knbench::ShutdownSignal& shutdown) {
  // Both ports first, before either server starts: gRPC would otherwise
  // share a busy gRPC port (SO_REUSEPORT) or log several lines about it.
  for (const auto& [name, port] :
       {std::pair{"gRPC", c.grpc_port}, std::pair{"metrics", c.metrics_port}}) {
    if (absl::Status status = knbench::CheckPortFree(c.bind, port);
        !status.ok()) {
      knbench::Logf("error: %s: %s", name, status.message());
      return 1;
    }
  }
  // From here a signal drains: there is something to stop gracefully.
  shutdown.EnableGracefulStop();
  auto registry = std::make_shared<prometheus::Registry>();
  // Before the server, which hands it spans until it stops.
  absl::StatusOr<std::unique_ptr<knbench::tracing::SpanExporter>> tracer =
      knbench::tracing::StartExporter(c.tracing, "worker", *registry);
  if (!tracer.ok()) {
    knbench::Logf("error: %s", tracer.status().message());
    return 2;
  }
  knbench::worker::WorkerOptions options = c.options;
  options.tracer = tracer->get();
  // gRPC first: once /healthz answers, calls are served too.
  knbench::worker::WorkerServer server(options, registry);
  if (absl::Status status = server.Start(c.bind, c.grpc_port); !status.ok()) {
    knbench::Logf("error: %s", status.message());
    return 1;
  }
  knbench::MetricsEndpoint metrics(registry);
  if (absl::Status status = metrics.Start(c.metrics_port, c.bind);
      !status.ok()) {
    knbench::Logf("error: metrics: %s", status.message());
    return 1;
  }
  knbench::Logf(
      "serving gRPC on %s and metrics on %s (instance %s, spin clock %s, max "
      "in flight %d)",
      knbench::JoinHostPort(c.bind, server.port()),
      knbench::JoinHostPort(c.bind, metrics.port()), c.options.instance_name,
      knbench::worker::SpinClockName(c.options.spin_clock),
      c.options.max_inflight);

  shutdown.Wait();
  knbench::Logf("signal %d: draining %d calls in flight (grace %s)",
                shutdown.signal_number(), server.service().inflight(),
                absl::FormatDuration(c.grace));
  server.Shutdown(c.grace);
  if (*tracer) (*tracer)->Shutdown();  // Flushes the last spans (bounded).
  metrics.Stop();
  knbench::Logf("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  knbench::ShutdownSignal shutdown;  // First: blocks signals for all threads.
  knbench::InitBinary("worker");
  // Env first, so that flags given explicitly override it.
  if (absl::Status status = knbench::SetPortFlagDefaultFromEnv(
          &FLAGS_grpc_port, {"PORT", "GRPC_PORT"});
      !status.ok()) {
    UsageError(status.message());
  }
  if (absl::Status status = knbench::SetPortFlagDefaultFromEnv(
          &FLAGS_metrics_port, {"METRICS_PORT"});
      !status.ok()) {
    UsageError(status.message());
  }
  std::vector<std::string> positional =
      knbench::ParseFlagsOrExit(argc, argv, "worker", kUsage);
  if (!positional.empty()) {
    UsageError(
        absl::StrCat("unexpected argument '", positional[0], "' (see --help)"));
  }

  const Config c = ResolveFlags();
  if (absl::GetFlag(FLAGS_check_config)) {
    PrintConfig(c);
    return 0;
  }
  return Serve(c, shutdown);
}
