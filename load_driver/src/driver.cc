#include "knbench/load_driver/driver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "knbench/common/clock.h"
#include "knbench/common/log.h"
#include "knbench/common/metrics_endpoint.h"
#include "knbench/common/net.h"
#include "knbench/load_driver/client_trace.h"
#include "knbench/load_driver/grpc_transport.h"
#ifdef KNBENCH_HAVE_NGHTTP2
#include "knbench/load_driver/h2_transport.h"
#endif
#include "knbench/load_driver/metrics.h"
#include "knbench/load_driver/pacer.h"
#include "knbench/load_driver/progress.h"
#include "knbench/load_driver/recorder.h"
#include "knbench/load_driver/result_files.h"
#include "knbench/load_driver/summary.h"
#include "knbench/load_driver/summary_file.h"
#include "knbench/load_driver/threshold.h"
#include "knbench/load_driver/transport.h"
#include "knbench/tracing/exporter.h"

namespace knbench::load_driver {
namespace {

// The pacer's clock: it waits through the transport, which reads and
// records answers meanwhile (h2) or sleeps (grpc).
class TransportClock : public Clock {
 public:
  TransportClock(Clock* clock, Transport* transport)
      : clock_(clock), transport_(transport) {}
  absl::Time Now() override { return clock_->Now(); }
  void SleepUntil(absl::Time t) override { transport_->WaitUntil(t); }
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                         absl::Time deadline) override {
    return clock_->AwaitWithDeadline(mu, cond, deadline);
  }

 private:
  Clock* clock_;
  Transport* transport_;
};

// The CSV and the summary file, both opened before any load is sent.
struct Outputs {
  std::unique_ptr<CsvWriter> csv;
  std::unique_ptr<SummaryFile> summary;
};

absl::StatusOr<Outputs> OpenOutputs(const Config& c) {
  struct stat out_info {};
  const bool out_existed = lstat(c.out.c_str(), &out_info) == 0;
  auto csv = CsvWriter::Open(c.out);
  if (!csv.ok()) return csv.status();
  auto summary = std::make_unique<SummaryFile>(c.summary_path);
  if (absl::Status st = summary->Open(); !st.ok()) {
    csv->reset();
    // No run happens: a CSV this run created (header only) goes too.
    if (!out_existed) unlink(c.out.c_str());
    return st;
  }
  return Outputs{*std::move(csv), std::move(summary)};
}

std::unique_ptr<Transport> MakeTransport(const Config& c, Clock* clock,
                                         RowSink* sink, DriverMetrics* metrics,
                                         ClientTracer* tracer) {
  TransportOptions options{
      c.endpoint,        static_cast<int>(c.connections), c.timeout,
      c.connect_timeout, static_cast<int32_t>(c.spin_ms), tracer};
#ifdef KNBENCH_HAVE_NGHTTP2
  if (c.transport == "h2") {
    return std::make_unique<H2Transport>(std::move(options), clock, sink,
                                         metrics);
  }
#endif
  return std::make_unique<GrpcTransport>(std::move(options), clock, sink,
                                         metrics);
}

// Connected before the first send: otherwise the first requests wait for
// the connection, or fail while it comes up.
void Connect(const Config& c, Transport& transport, Clock& clock,
             const ShutdownSignal& shutdown) {
  const ConnectResult connected = transport.Connect(
      clock.Now() + c.connect_timeout, [&] { return shutdown.requested(); });
  if (connected.ready == c.connections) {
    Logf("connected to %s in %d ms", c.target,
         absl::ToInt64Milliseconds(connected.took));
  } else if (!shutdown.requested()) {
    const std::string why = transport.last_error();
    Logf(
        "%d of %d connection(s) to %s up after %d ms%s; sending anyway, and "
        "requests fail until it can be reached",
        connected.ready, c.connections, c.target,
        absl::ToInt64Milliseconds(connected.took),
        why.empty() ? "" : absl::StrCat(" (", why, ")"));
  }
}

// How the pacing ended, for the drain and the exit code.
struct Ending {
  PacerResult pacer;
  bool by_signal = false;
  bool by_abort = false;  // --fail-fast
};

// A normal end waits for answers (each call has its --timeout deadline);
// a signal waits --drain-timeout; then whatever is left is cancelled and
// recorded as failure by its own callback.
void Drain(const Config& c, const Ending& e, Transport& transport,
           Clock& clock) {
  if (e.by_signal) {
    Logf(
        "signal received: stopped scheduling after %d requests; draining "
        "%d in flight for up to %s",
        e.pacer.scheduled, transport.inflight(),
        absl::FormatDuration(c.drain_timeout));
  } else if (e.by_abort) {
    Logf("--fail-fast: a request failed; stopping after %d requests",
         e.pacer.scheduled);
  }
  const absl::Duration wait = e.by_abort    ? absl::ZeroDuration()
                              : e.by_signal ? c.drain_timeout
                                            : c.timeout + absl::Seconds(5);
  if (transport.WaitIdle(clock.Now() + wait)) return;
  Logf("cancelling %d requests still in flight (recorded as failure)",
       transport.inflight());
  transport.CancelAll();
  if (!transport.WaitIdle(clock.Now() + absl::Seconds(10))) {
    Logf("error: %d requests never completed; their rows are missing",
         transport.inflight());
  }
}

// Sends the whole schedule (or until a signal or --fail-fast), with a
// progress line every interval, then drains.
Ending Pace(const Config& c, Transport& transport, Recorder& recorder,
            ProgressTracker& progress, DriverMetrics& metrics, Clock& clock,
            const ShutdownSignal& shutdown, const std::atomic<bool>& aborted,
            absl::Time start) {
  ArrivalGenerator arrivals(*c.schedule, c.arrivals, c.seed, c.warmup);
  PacerOptions popts;
  popts.max_inflight = c.max_inflight;
  popts.quantum = c.pacing_quantum;
  popts.spin_ms = static_cast<int32_t>(c.spin_ms);
  TransportClock pacing_clock(&clock, &transport);
  Pacer pacer(&pacing_clock, &arrivals, &transport, &recorder, &metrics, popts);

  bool write_error_logged = false;
  ProgressLoop progress_loop(c.progress_interval, [&] {
    ProgressSnapshot s = progress.TakeSnapshot();
    s.elapsed = clock.Now() - start;
    s.target_rps = pacer.current_rps();
    s.inflight = transport.inflight();
    metrics.SetInflight(static_cast<double>(s.inflight));
    LogLine(FormatProgress(s, c.progress_interval));
    absl::Status ws = recorder.write_status();
    if (!ws.ok() && !write_error_logged) {
      write_error_logged = true;
      Logf(
          "error: %s; the run goes on, counts still reach the summary and "
          "metrics",
          ws.message());
    }
  });
  UsePreciseTimerSlack();
  Ending e;
  e.pacer =
      pacer.Run(start, [&] { return shutdown.requested() || aborted.load(); });
  e.by_signal = e.pacer.stopped && shutdown.requested();
  e.by_abort = e.pacer.stopped && aborted.load();
  Drain(c, e, transport, clock);
  progress_loop.Stop();
  // Completions set the gauge from several threads and may land out of
  // order; the final value comes from the counter itself.
  metrics.SetInflight(static_cast<double>(transport.inflight()));
  return e;
}

// The summary (stdout, --summary, /summary.json) and the exit code.
int Report(const Config& c, const Ending& e, absl::Time start,
           Recorder& recorder, const SummaryAccumulator& summary_acc,
           SummaryFile& summary_file, ResultFiles& results) {
  const absl::Status write_status = recorder.Close();
  RunInfo info;
  info.target = c.target;
  info.arrivals = ArrivalsName(c.arrivals);
  // The real time scheduling took: a driver that falls behind its schedule
  // takes longer than the schedule's length, and its rate is lower.
  const absl::Duration took = e.pacer.end - start;
  info.duration_s = absl::ToDoubleSeconds(
      e.pacer.stopped ? took : std::max(took, c.schedule->length()));
  if (!write_status.ok())
    info.write_error = std::string(write_status.message());
  Summary summary = summary_acc.Build(info);
  summary.thresholds = EvaluateThresholds(c.thresholds, summary);
  const std::string json = FormatSummaryJson(summary);
  std::fputs(FormatSummaryText(summary).c_str(), stdout);
  std::fflush(stdout);

  int code = kExitOk;
  if (!write_status.ok()) {
    Logf("error: %s: the CSV is incomplete (%d rows recorded in the summary)",
         write_status.message(), summary.scheduled);
    code = kExitRunError;
  }
  if (absl::Status st = summary_file.Write(json); !st.ok()) {
    Logf("error: %s", st.message());
    code = kExitRunError;
  }
  if (e.by_abort || (c.fail_fast && summary.failure > 0)) code = kExitRunError;
  if (code == kExitOk && !AllPassed(summary.thresholds)) {
    Logf("thresholds violated: %s", FormatThresholdsText(summary.thresholds));
    code = kExitThresholds;
  }
  results.Finish(json);
  return code;
}

void Linger(const Config& c, ResultFiles& results, int port,
            const ShutdownSignal& shutdown) {
  if (c.linger <= absl::ZeroDuration() || shutdown.requested()) return;
  Logf("serving /results.csv and /summary.json on port %d for up to %s", port,
       absl::FormatDuration(c.linger));
  if (results.WaitBothFetched(absl::Now() + c.linger,
                              [&] { return shutdown.requested(); })) {
    Logf("both result files fetched; exiting");
  }
}

}  // namespace

int RunDriver(const Config& c, ShutdownSignal& shutdown) {
  RealClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  DriverMetrics metrics(*registry);
  // Declared before the endpoint: its handlers use `results` until it stops.
  ResultFiles results;
  MetricsEndpoint endpoint(registry);
  results.Install(endpoint.http(), c.out);
  if (absl::Status st =
          endpoint.Start(static_cast<int>(c.metrics_port), c.bind);
      !st.ok()) {
    Logf("error: cannot serve metrics on port %d: %s", c.metrics_port,
         st.message());
    return kExitRunError;
  }
  // Before the CSV: an unwritable --trace-out leaves no file behind.
  absl::StatusOr<std::unique_ptr<tracing::SpanExporter>> exporter =
      tracing::StartExporter(c.tracing, "load_driver", *registry);
  if (!exporter.ok()) {
    Logf("error: %s", exporter.status().message());
    return kExitUsage;
  }
  absl::StatusOr<Outputs> outputs = OpenOutputs(c);
  if (!outputs.ok()) {
    Logf("error: %s", outputs.status().message());
    return kExitUsage;
  }
  // From here a signal stops the run and still writes both files.
  shutdown.EnableGracefulStop();
  SummaryAccumulator summary_acc(*c.schedule);
  ProgressTracker progress;
  Recorder recorder(std::move(outputs->csv), {&summary_acc, &progress});
  recorder.Start();
  // Declared before the transport, whose callbacks may set it until it goes.
  std::atomic<bool> aborted{false};
  // Only with a rate above 0: otherwise a send does no tracing work at all.
  std::optional<ClientTracer> tracer;
  if (c.tracing.sample_rate > 0) {
    tracer.emplace(exporter->get(), c.tracing.sample_rate, c.target);
  }
  std::unique_ptr<Transport> transport = MakeTransport(
      c, &clock, &recorder, &metrics, tracer ? &*tracer : nullptr);
  if (c.fail_fast) {
    transport->set_on_failure([&aborted] { aborted.store(true); });
  }
  Connect(c, *transport, clock, shutdown);
  Logf(
      "sending to %s: %s, %s arrivals, spin %d ms, %d connection(s); "
      "metrics on %s; CSV %s",
      c.target, c.schedule->spec(), ArrivalsName(c.arrivals), c.spin_ms,
      c.connections, JoinHostPort(c.bind, endpoint.port()), c.out);
  const absl::Time start = clock.Now();
  const Ending ending = Pace(c, *transport, recorder, progress, metrics, clock,
                             shutdown, aborted, start);
  const int code = Report(c, ending, start, recorder, summary_acc,
                          *outputs->summary, results);
  // Every call has ended: the last spans are queued; send them (bounded).
  if (*exporter) (*exporter)->Shutdown();
  Linger(c, results, endpoint.port(), shutdown);
  endpoint.Stop();
  return code;
}

}  // namespace knbench::load_driver
