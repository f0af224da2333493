#include "knbench/load_driver/driver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "knbench/common/log.h"
#include "knbench/common/metrics_endpoint.h"
#include "knbench/common/net.h"
#include "knbench/load_driver/clock.h"
#include "knbench/load_driver/grpc_transport.h"
#ifdef KNBENCH_HAVE_NGHTTP2
#include "knbench/load_driver/h2_transport.h"
#endif
#include "knbench/load_driver/metrics.h"
#include "knbench/load_driver/pacer.h"
#include "knbench/load_driver/progress.h"
#include "knbench/load_driver/recorder.h"
#include "knbench/load_driver/summary.h"
#include "knbench/load_driver/threshold.h"
#include "knbench/load_driver/transport.h"

namespace knbench::load_driver {
namespace {

// After the run, serves /results.csv and /summary.json and remembers which
// were fetched, for --linger: a file counts once a GET has sent it to its
// end (a HEAD, or a download cut short, does not).
class ResultFiles {
 public:
  void Install(HttpServer& http, const std::string& csv_path) {
    http.Handle("/results.csv", [this, csv_path] {
      if (!finished_.load()) return NotYet();
      HttpResponse r = HttpResponse::File(csv_path, "text/csv; charset=utf-8");
      r.on_complete = [this] { Fetched(&csv_fetched_); };
      return r;
    });
    // For readiness probes and scripts that poll: says the run is over
    // without counting as a fetch of either file.
    http.Handle("/done", [this] {
      if (!finished_.load()) return NotYet();
      return HttpResponse{200, "text/plain", "done\n"};
    });
    http.Handle("/summary.json", [this] {
      if (!finished_.load()) return NotYet();
      HttpResponse r;
      r.content_type = "application/json";
      {
        std::lock_guard<std::mutex> lock(mu_);
        r.body = summary_json_;
      }
      r.on_complete = [this] { Fetched(&summary_fetched_); };
      return r;
    });
  }

  void Finish(std::string summary_json) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      summary_json_ = std::move(summary_json);
    }
    finished_.store(true);
  }

  // Waits until both files were fetched, `deadline`, or `stop()`.
  bool WaitBothFetched(absl::Time deadline, const std::function<bool()>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!(csv_fetched_ && summary_fetched_)) {
      if (stop() || absl::Now() >= deadline) return false;
      // Short waits so a signal (which has no hook into this cv) is seen.
      cv_.wait_until(
          lock, absl::ToChronoTime(
                    std::min(deadline, absl::Now() + absl::Milliseconds(100))));
    }
    return true;
  }

 private:
  static HttpResponse NotYet() {
    HttpResponse r;
    r.status = 503;
    r.body = "run in progress: results are served once it ends\n";
    return r;
  }
  void Fetched(bool* flag) {
    std::lock_guard<std::mutex> lock(mu_);
    *flag = true;
    cv_.notify_all();
  }

  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string summary_json_;
  bool csv_fetched_ = false;
  bool summary_fetched_ = false;
};

// Prints a progress line every interval until stopped.
class ProgressLoop {
 public:
  ProgressLoop(absl::Duration interval, std::function<void()> tick)
      : interval_(interval), tick_(std::move(tick)) {
    if (interval_ > absl::ZeroDuration())
      thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLoop() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    absl::Time next = absl::Now() + interval_;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (cv_.wait_until(lock, absl::ToChronoTime(next),
                         [this] { return stop_; })) {
        return;
      }
      lock.unlock();
      tick_();
      lock.lock();
      next += interval_;
    }
  }
  absl::Duration interval_;
  std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The --summary file, opened before the run so that a path that cannot be
// written is found before any load is sent, and written at the end. An
// existing file keeps its content until then.
class SummaryFile {
 public:
  explicit SummaryFile(std::string path) : path_(std::move(path)) {}
  ~SummaryFile() {
    if (fd_ >= 0) close(fd_);
  }

  absl::Status Open() {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot create --summary ", path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  absl::Status Write(const std::string& text) {
    // A regular file is rewritten from the start; a pipe or terminal
    // (--summary=/dev/stdout) just gets the text.
    struct stat info {};
    bool ok = fstat(fd_, &info) == 0;
    if (ok && S_ISREG(info.st_mode)) {
      ok = ftruncate(fd_, 0) == 0 && lseek(fd_, 0, SEEK_SET) == 0;
    }
    size_t done = 0;
    while (ok && done < text.size()) {
      const ssize_t n = write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
    const int err = errno;
    const bool closed = close(fd_) == 0;
    fd_ = -1;
    if (!ok || !closed) {
      return absl::InternalError(
          absl::StrCat("writing --summary ", path_, ": ", std::strerror(err)));
    }
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  int fd_ = -1;
};

// The pacer's clock: it waits through the transport, which reads and
// records answers meanwhile (h2) or sleeps (grpc).
class TransportClock : public Clock {
 public:
  TransportClock(Clock* clock, Transport* transport)
      : clock_(clock), transport_(transport) {}
  absl::Time Now() override { return clock_->Now(); }
  void SleepUntil(absl::Time t) override { transport_->WaitUntil(t); }

 private:
  Clock* clock_;
  Transport* transport_;
};

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

  struct stat out_info {};
  const bool out_existed = lstat(c.out.c_str(), &out_info) == 0;
  auto writer = CsvWriter::Open(c.out);
  if (!writer.ok()) {
    Logf("error: %s", writer.status().message());
    return kExitUsage;
  }
  SummaryFile summary_file(c.summary_path);
  if (absl::Status st = summary_file.Open(); !st.ok()) {
    Logf("error: %s", st.message());
    writer->reset();
    // No run happens: a CSV this run created (header only) goes too.
    if (!out_existed) unlink(c.out.c_str());
    return kExitUsage;
  }
  // From here a signal stops the run and still writes both files.
  shutdown.EnableGracefulStop();
  SummaryAccumulator summary_acc(*c.schedule);
  ProgressTracker progress;
  Recorder recorder(std::move(*writer), {&summary_acc, &progress});
  recorder.Start();

  std::atomic<bool> aborted{false};
  const TransportOptions topts{c.endpoint, static_cast<int>(c.connections),
                               c.timeout, c.connect_timeout,
                               static_cast<int32_t>(c.spin_ms)};
  std::unique_ptr<Transport> owned_transport;
#ifdef KNBENCH_HAVE_NGHTTP2
  if (c.transport == "h2") {
    owned_transport =
        std::make_unique<H2Transport>(topts, &clock, &recorder, &metrics);
  }
#endif
  if (!owned_transport) {
    owned_transport =
        std::make_unique<GrpcTransport>(topts, &clock, &recorder, &metrics);
  }
  Transport& transport = *owned_transport;
  if (c.fail_fast) {
    transport.set_on_failure([&aborted] { aborted.store(true); });
  }

  ArrivalGenerator arrivals(*c.schedule, c.arrivals, c.seed, c.warmup);
  PacerOptions popts;
  popts.max_inflight = c.max_inflight;
  popts.quantum = c.pacing_quantum;
  popts.spin_ms = static_cast<int32_t>(c.spin_ms);
  TransportClock pacing_clock(&clock, &transport);
  Pacer pacer(&pacing_clock, &arrivals, &transport, &recorder, &metrics, popts);

  // Connected before the first send: otherwise the first requests wait for
  // the connection, or fail while it comes up.
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
  Logf(
      "sending to %s: %s, %s arrivals, spin %d ms, %d connection(s); "
      "metrics on %s; CSV %s",
      c.target, c.schedule->spec(), ArrivalsName(c.arrivals), c.spin_ms,
      c.connections, JoinHostPort(c.bind, endpoint.port()), c.out);

  const absl::Time start = clock.Now();
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
  const PacerResult pr =
      pacer.Run(start, [&] { return shutdown.requested() || aborted.load(); });

  const bool by_signal = pr.stopped && shutdown.requested();
  const bool by_abort = pr.stopped && aborted.load();
  if (by_signal) {
    Logf(
        "signal received: stopped scheduling after %d requests; draining "
        "%d in flight for up to %s",
        pr.scheduled, transport.inflight(),
        absl::FormatDuration(c.drain_timeout));
  } else if (by_abort) {
    Logf("--fail-fast: a request failed; stopping after %d requests",
         pr.scheduled);
  }
  // A normal end waits for answers (each call has its --timeout deadline);
  // a signal waits --drain-timeout; then whatever is left is cancelled and
  // recorded as failure by its own callback.
  const absl::Duration wait = by_abort    ? absl::ZeroDuration()
                              : by_signal ? c.drain_timeout
                                          : c.timeout + absl::Seconds(5);
  if (!transport.WaitIdle(clock.Now() + wait)) {
    Logf("cancelling %d requests still in flight (recorded as failure)",
         transport.inflight());
    transport.CancelAll();
    if (!transport.WaitIdle(clock.Now() + absl::Seconds(10))) {
      Logf("error: %d requests never completed; their rows are missing",
           transport.inflight());
    }
  }
  progress_loop.Stop();
  // Completions set the gauge from several threads and may land out of
  // order; the final value comes from the counter itself.
  metrics.SetInflight(static_cast<double>(transport.inflight()));

  const absl::Status write_status = recorder.Close();
  RunInfo info;
  info.target = c.target;
  info.arrivals = ArrivalsName(c.arrivals);
  // The real time scheduling took: a driver that falls behind its schedule
  // takes longer than the schedule's length, and its rate is lower.
  info.duration_s = absl::ToDoubleSeconds(
      pr.stopped ? pr.end - start
                 : std::max(pr.end - start, c.schedule->length()));
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
  if (by_abort || (c.fail_fast && summary.failure > 0)) code = kExitRunError;
  if (code == kExitOk && !AllPassed(summary.thresholds)) {
    Logf("thresholds violated: %s", FormatThresholdsText(summary.thresholds));
    code = kExitThresholds;
  }
  results.Finish(json);

  if (c.linger > absl::ZeroDuration() && !shutdown.requested()) {
    Logf("serving /results.csv and /summary.json on port %d for up to %s",
         endpoint.port(), absl::FormatDuration(c.linger));
    if (results.WaitBothFetched(absl::Now() + c.linger,
                                [&] { return shutdown.requested(); })) {
      Logf("both result files fetched; exiting");
    }
  }
  endpoint.Stop();
  return code;
}

}  // namespace knbench::load_driver
