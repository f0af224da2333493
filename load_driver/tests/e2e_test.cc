// End to end: the load_driver binary against a real worker over loopback.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/common/clock.h"
#include "knbench/common/json.h"
#include "knbench/load_driver/config.h"
#include "knbench/load_driver/h2_transport.h"
#include "knbench/testing/http_client.h"
#include "knbench/testing/wait.h"
#include "subprocess.h"
#include "test_files.h"

namespace knbench::load_driver {
namespace {

using knbench::testing::HttpGet;
using knbench::testing::PickFreePort;
using ::testing::HasSubstr;

// The summary JSON parsed (a discarded value if it does not parse).
inline Json ParseSummary(const std::string& json) {
  return Json::parse(json, nullptr, /*allow_exceptions=*/false);
}

// A top-level integer of the summary JSON, or -1.
inline int64_t JsonInt(const std::string& json, const std::string& key) {
  const Json j = ParseSummary(json);
  return j.is_object() && j.contains(key) && j[key].is_number_integer()
             ? j[key].get<int64_t>()
             : -1;
}

// A top-level number of the summary JSON, or -1.
inline double JsonDouble(const std::string& json, const std::string& key) {
  const Json j = ParseSummary(json);
  return j.is_object() && j.contains(key) && j[key].is_number()
             ? j[key].get<double>()
             : -1;
}

class DriverE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir());
    grpc_port_ = PickFreePort();
    const int metrics_port = PickFreePort();
    worker_ = new Subprocess({KNBENCH_WORKER_BIN, "--bind=127.0.0.1",
                              absl::StrCat("--grpc-port=", grpc_port_),
                              absl::StrCat("--metrics-port=", metrics_port)},
                             *dir_ + "/worker");
    ASSERT_TRUE(worker_->started());
    // Ready once it accepts gRPC connections (bounded wait).
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                       grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(15))))
        << "worker did not come up: " << worker_->Stderr();
  }
  static void TearDownTestSuite() {
    worker_->Signal(SIGTERM);
    worker_->Wait(absl::Seconds(35));
    delete worker_;
    delete dir_;
  }

  std::string Target() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

  std::unique_ptr<Subprocess> StartDriver(std::vector<std::string> args,
                                          const std::string& name) {
    args.insert(args.begin(), {KNBENCH_DRIVER_BIN, "--bind=127.0.0.1"});
    auto p = std::make_unique<Subprocess>(args, *dir_ + "/" + name);
    EXPECT_TRUE(p->started());
    return p;
  }

  static std::string* dir_;
  static int grpc_port_;
  static Subprocess* worker_;
};

std::string* DriverE2eTest::dir_ = nullptr;
int DriverE2eTest::grpc_port_ = 0;
Subprocess* DriverE2eTest::worker_ = nullptr;

// Every row has 16 fields, seqs are exactly 1..N, no router's waits (these
// runs go straight to a worker), and the summary's counts equal the CSV's.
// Returns rows by status.
std::map<std::string, int64_t> CheckConsistent(const std::string& csv_path,
                                               const std::string& json) {
  const Csv csv = ReadCsv(csv_path);
  EXPECT_EQ(csv.header,
            "timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,"
            "intended_latency_us,lag_us,grpc_code,pod,server_spin_us,"
            "activator_wait_us,queue_wait_us,phase,warmup");
  EXPECT_TRUE(csv.last_line_complete);
  std::map<std::string, int64_t> by_status;
  std::set<int64_t> seqs;
  for (const auto& row : csv.rows) {
    EXPECT_EQ(row.size(), 16u);
    if (row.size() != 16u) continue;
    ++by_status[row[5]];
    EXPECT_EQ(row[12], "") << "activator_wait_us without a router";
    EXPECT_EQ(row[13], "") << "queue_wait_us without a router";
    int64_t seq = 0;
    EXPECT_TRUE(absl::SimpleAtoi(row[3], &seq));
    seqs.insert(seq);
  }
  EXPECT_EQ(seqs.size(), csv.rows.size()) << "duplicate seq";
  if (!seqs.empty()) {
    EXPECT_EQ(*seqs.begin(), 1);
    EXPECT_EQ(*seqs.rbegin(), static_cast<int64_t>(csv.rows.size()));
  }
  EXPECT_EQ(JsonInt(json, "scheduled"), static_cast<int64_t>(csv.rows.size()));
  EXPECT_EQ(JsonInt(json, "success"), by_status["success"]);
  EXPECT_EQ(JsonInt(json, "failure"), by_status["failure"]);
  EXPECT_EQ(JsonInt(json, "dropped"), by_status["dropped"]);
  const Json summary = ParseSummary(json);
  EXPECT_TRUE(summary.contains("breakdown") && summary["breakdown"].is_null());
  return by_status;
}

TEST_F(DriverE2eTest,
       ThousandRpsForFiveSecondsGivesExactlyFiveThousandSuccesses) {
  const std::string csv = *dir_ + "/k.csv";
  auto d = StartDriver(
      {"--target=" + Target(), "--rps=1000", "--duration=5s", "--spin-ms=0",
       "--out=" + csv, "--metrics-port=0", "--progress-interval=1s"},
      "k");
  ASSERT_EQ(d->Wait(absl::Seconds(60)), 0) << d->Stderr();
  // The default summary is named after --out.
  const std::string json = Subprocess::Read(*dir_ + "/k.summary.json");
  auto by_status = CheckConsistent(csv, json);
  EXPECT_EQ(by_status["success"], 5000);
  EXPECT_EQ(JsonInt(json, "scheduled"), 5000);
  EXPECT_EQ(JsonInt(json, "sent"), 5000);
  const Csv rows = ReadCsv(csv);
  for (const auto& r : rows.rows) {
    ASSERT_EQ(r[9], "OK");
    ASSERT_EQ(r[2], "0");
    ASSERT_EQ(r[1], "1000");
    ASSERT_FALSE(r[10].empty());  // pod
  }
  // Intended send times are 1 ms apart, exactly.
  int64_t t0 = 0, t4999 = 0;
  for (const auto& r : rows.rows) {
    if (r[3] == "1") {
      ASSERT_TRUE(absl::SimpleAtoi(r[0], &t0));
    }
    if (r[3] == "5000") {
      ASSERT_TRUE(absl::SimpleAtoi(r[0], &t4999));
    }
  }
  EXPECT_EQ(t4999 - t0, 4999);
  EXPECT_THAT(d->Stdout(),
              HasSubstr("scheduled 5000  sent 5000  success 5000"));
  EXPECT_THAT(d->Stderr(), HasSubstr("elapsed "));  // progress lines
}

TEST_F(DriverE2eTest, DeadTargetGivesFailureRowsAndExitZero) {
  const std::string dead = absl::StrCat("127.0.0.1:", PickFreePort());
  const std::string csv = *dir_ + "/dead.csv";
  auto d = StartDriver(
      {"--target=" + dead, "--rps=100", "--duration=2s", "--out=" + csv,
       "--metrics-port=0", "--summary=" + *dir_ + "/dead.json"},
      "dead");
  ASSERT_EQ(d->Wait(absl::Seconds(60)), 0) << d->Stderr();
  const std::string json = Subprocess::Read(*dir_ + "/dead.json");
  auto by_status = CheckConsistent(csv, json);
  EXPECT_EQ(by_status["failure"], 200);
  EXPECT_EQ(ParseSummary(json)["errors"], Json({{"UNAVAILABLE", 200}}));

  // --fail-fast: stops at the first failure, exit 1, still consistent files.
  const std::string ff = *dir_ + "/ff.csv";
  auto f = StartDriver(
      {"--target=" + dead, "--rps=100", "--duration=30s", "--out=" + ff,
       "--metrics-port=0", "--fail-fast", "--summary=" + *dir_ + "/ff.json"},
      "ff");
  ASSERT_EQ(f->Wait(absl::Seconds(30)), 1) << f->Stderr();
  const std::string fjson = Subprocess::Read(*dir_ + "/ff.json");
  auto fs = CheckConsistent(ff, fjson);
  EXPECT_GE(fs["failure"], 1);
  EXPECT_LT(JsonInt(fjson, "scheduled"), 3000);
  EXPECT_THAT(f->Stderr(), HasSubstr("--fail-fast"));
}

// Rows by grpc_code name.
std::map<std::string, int64_t> Codes(const std::string& csv_path) {
  std::map<std::string, int64_t> codes;
  for (const auto& row : ReadCsv(csv_path).rows) {
    if (row.size() == 16u) ++codes[row[9]];
  }
  return codes;
}

// Both transports (the driver's own HTTP/2 client and gRPC's library) send
// the same calls and record the same statuses: answers, the server's errors
// from the trailers, our deadline, a full server, a dead target.
class TransportE2eTest : public DriverE2eTest,
                         public ::testing::WithParamInterface<const char*> {
 protected:
  std::map<std::string, int64_t> Run(const std::string& name,
                                     const std::string& target,
                                     std::vector<std::string> args) {
    const std::string csv = *dir_ + "/" + name + "-" + GetParam() + ".csv";
    const std::string json = *dir_ + "/" + name + "-" + GetParam() + ".json";
    args.insert(args.end(),
                {"--target=" + target, "--out=" + csv, "--summary=" + json,
                 "--metrics-port=0", "--progress-interval=0s",
                 absl::StrCat("--transport=", GetParam())});
    auto d = StartDriver(args, name + "-" + GetParam());
    EXPECT_EQ(d->Wait(absl::Seconds(60)), 0) << d->Stderr();
    CheckConsistent(csv, Subprocess::Read(json));
    return Codes(csv);
  }
};

TEST_P(TransportE2eTest, SameStatusesFromBothTransports) {
  if (GetParam() == std::string("h2") && !HasH2Transport()) {
    GTEST_SKIP() << "built without nghttp2";
  }
  using Codes = std::map<std::string, int64_t>;
  // Answers, with the pod's name and the server's spin.
  EXPECT_EQ(Run("ok", Target(), {"--rps=200", "--duration=1s", "--spin-ms=1"}),
            (Codes{{"OK", 200}}));
  // Our deadline, long before the spin ends.
  EXPECT_EQ(
      Run("late", Target(),
          {"--rps=20", "--duration=1s", "--spin-ms=2000", "--timeout=100ms"}),
      (Codes{{"DEADLINE_EXCEEDED", 20}}));
  // Nobody listens.
  EXPECT_EQ(Run("dead", absl::StrCat("127.0.0.1:", PickFreePort()),
                {"--rps=50", "--duration=1s", "--connect-timeout=1s"}),
            (Codes{{"UNAVAILABLE", 50}}));

  // A worker that refuses long spins and holds one call at a time.
  const int port = PickFreePort();
  Subprocess strict({KNBENCH_WORKER_BIN, "--bind=127.0.0.1",
                     absl::StrCat("--grpc-port=", port), "--metrics-port=0",
                     "--max-duration-ms=500", "--max-inflight=1"},
                    *dir_ + "/strict-" + GetParam());
  ASSERT_TRUE(strict.started());
  const std::string strict_target = absl::StrCat("127.0.0.1:", port);
  auto channel =
      grpc::CreateChannel(strict_target, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(
      absl::ToChronoTime(absl::Now() + absl::Seconds(15))));
  EXPECT_EQ(Run("invalid", strict_target,
                {"--rps=20", "--duration=1s", "--spin-ms=600"}),
            (Codes{{"INVALID_ARGUMENT", 20}}));
  // 20 calls of 300 ms 50 ms apart: the worker holds one, refuses the rest.
  Codes full = Run("full", strict_target,
                   {"--rps=20", "--duration=1s", "--spin-ms=300"});
  EXPECT_GE(full["OK"], 2);
  EXPECT_GE(full["RESOURCE_EXHAUSTED"], 10);
  EXPECT_EQ(full["OK"] + full["RESOURCE_EXHAUSTED"], 20);
  strict.Signal(SIGTERM);
  EXPECT_EQ(strict.Wait(absl::Seconds(35)), 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportE2eTest,
                         ::testing::Values("h2", "grpc"));

#ifdef KNBENCH_HAVE_NGHTTP2
struct CountingSink : RowSink {
  void Record(Row&&) override { rows.fetch_add(1); }
  std::atomic<int64_t> rows{0};
};

// A pacer that runs late sends without ever waiting in WaitUntil, where the
// h2 transport reads answers. It must still read them as it sends: else
// they pile up unread, deadlines never fire and the driver drops requests
// at --max-inflight while the worker is idle.
TEST_F(DriverE2eTest, H2TransportReadsAnswersWhileThePacerNeverWaits) {
  RealClock clock;
  CountingSink sink;
  absl::StatusOr<load_driver::Target> target =
      load_driver::Target::Parse(Target());
  ASSERT_TRUE(target.ok());
  H2Transport transport(
      TransportOptions{*target, 1, absl::Seconds(10), absl::Seconds(5), 0},
      &clock, &sink, nullptr);
  ASSERT_EQ(
      transport.Connect(absl::Now() + absl::Seconds(10), [] { return false; })
          .ready,
      1);
  int64_t sent = 0;
  // Batches of sends, never a WaitUntil, until a row is recorded (bounded:
  // 4 000 sends at most).
  knbench::testing::WaitUntil(
      [&] {
        for (int i = 0; i < 64; ++i) {
          Arrival a;
          a.seq = ++sent;
          const absl::Time now = clock.Now();
          transport.Send(a, now, now);
        }
        return sink.rows.load() > 0 || sent >= 4000;
      },
      absl::Seconds(30), absl::Milliseconds(20));
  EXPECT_GT(sink.rows.load(), 0) << sent << " sent, no answer read";
  EXPECT_TRUE(transport.WaitIdle(absl::Now() + absl::Seconds(20)));
  EXPECT_EQ(sink.rows.load(), sent);
}
#endif

// Waits (bounded) until the driver's /metrics shows at least `n` scheduled.
bool WaitScheduled(int port, int64_t n, absl::Duration timeout) {
  return knbench::testing::WaitUntil(
      [&] {
        auto r = HttpGet(port, "/metrics");
        if (!r.ok() || r->status != 200) return false;
        const size_t at = r->body.find("\nload_driver_scheduled_total ");
        if (at == std::string::npos) return false;
        double v = 0;
        const size_t start = at + 29;
        const size_t end = r->body.find('\n', start);
        return absl::SimpleAtod(r->body.substr(start, end - start), &v) &&
               v >= n;
      },
      timeout, absl::Milliseconds(50));
}

TEST_F(DriverE2eTest, SigtermMidRunGivesCompleteCsvAndSummary) {
  const std::string csv = *dir_ + "/term.csv";
  const int port = PickFreePort();
  auto d = StartDriver(
      {"--target=" + Target(), "--rps=200", "--duration=60s", "--spin-ms=10",
       "--out=" + csv, absl::StrCat("--metrics-port=", port),
       "--summary=" + *dir_ + "/term.json"},
      "term");
  ASSERT_TRUE(WaitScheduled(port, 300, absl::Seconds(20))) << d->Stderr();
  d->Signal(SIGTERM);
  ASSERT_EQ(d->Wait(absl::Seconds(30)), 0) << d->Stderr();
  const std::string json = Subprocess::Read(*dir_ + "/term.json");
  auto by_status = CheckConsistent(csv, json);
  EXPECT_GE(JsonInt(json, "scheduled"), 300);
  EXPECT_LT(JsonInt(json, "scheduled"), 12000);
  EXPECT_EQ(by_status["success"], JsonInt(json, "scheduled"));
}

TEST_F(DriverE2eTest, SigtermCancelsCallsStillInFlightAfterDrainTimeout) {
  const std::string csv = *dir_ + "/cancel.csv";
  const int port = PickFreePort();
  auto d =
      StartDriver({"--target=" + Target(), "--rps=10", "--duration=60s",
                   "--spin-ms=5000", "--out=" + csv, "--drain-timeout=300ms",
                   absl::StrCat("--metrics-port=", port),
                   "--summary=" + *dir_ + "/cancel.json"},
                  "cancel");
  ASSERT_TRUE(WaitScheduled(port, 10, absl::Seconds(20))) << d->Stderr();
  d->Signal(SIGTERM);
  ASSERT_EQ(d->Wait(absl::Seconds(20)), 0) << d->Stderr();
  const std::string json = Subprocess::Read(*dir_ + "/cancel.json");
  auto by_status = CheckConsistent(csv, json);
  EXPECT_GE(by_status["failure"], 10);
  EXPECT_TRUE(ParseSummary(json)["errors"].contains("CANCELLED")) << json;
}

TEST_F(DriverE2eTest, ResultsAreServedAfterTheRunAndLingerEndsWhenFetched) {
  const std::string csv = *dir_ + "/serve.csv";
  const int port = PickFreePort();
  auto d = StartDriver(
      {"--target=" + Target(), "--rps=100", "--duration=2s", "--spin-ms=1",
       "--out=" + csv, "--linger=60s", absl::StrCat("--metrics-port=", port),
       "--summary=" + *dir_ + "/serve.json"},
      "serve");
  // /done: 503 while running, 200 once the run is over (bounded wait).
  bool saw_503 = false;
  ASSERT_TRUE(knbench::testing::WaitUntil(
      [&] {
        auto done = HttpGet(port, "/done");
        if (done.ok() && done->status == 503) saw_503 = true;
        return done.ok() && done->status == 200;
      },
      absl::Seconds(30), absl::Milliseconds(50)))
      << d->Stderr();
  EXPECT_TRUE(saw_503);
  // The metrics agree with the files.
  auto metrics = HttpGet(port, "/metrics");
  ASSERT_TRUE(metrics.ok());
  for (const char* want :
       {"load_driver_requests_total{status=\"success\"} 200\n",
        "load_driver_scheduled_total 200\n",
        "load_driver_inflight_requests 0\n", "load_driver_target_rps 100\n",
        "load_driver_request_latency_ms_count 200\n",
        "load_driver_intended_latency_ms_count 200\n",
        "load_driver_schedule_lag_ms_count 200\n",
        "load_driver_request_latency_ms_bucket{le=\"16384\"} 200\n"}) {
    EXPECT_THAT(metrics->body, HasSubstr(want));
  }
  // HEAD of both files (curl -I) fetches neither: still lingering.
  for (const char* path : {"/results.csv", "/summary.json"}) {
    auto head = knbench::testing::SendRaw(
        port,
        absl::StrCat("HEAD ", path,
                     " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_THAT(*head, HasSubstr(" 200 "));
  }
  EXPECT_FALSE(d->Wait(absl::Milliseconds(300)).has_value());
  auto results = HttpGet(port, "/results.csv");
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->status, 200);
  EXPECT_EQ(results->body, Subprocess::Read(csv));
  // Polling /done is not fetching the summary: still lingering.
  EXPECT_FALSE(d->Wait(absl::Milliseconds(300)).has_value());
  auto summary = HttpGet(port, "/summary.json");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status, 200);
  EXPECT_EQ(summary->body, Subprocess::Read(*dir_ + "/serve.json"));
  EXPECT_EQ(JsonInt(summary->body, "success"), 200);
  // Both fetched: exits well before --linger.
  EXPECT_EQ(d->Wait(absl::Seconds(10)), 0) << d->Stderr();
}

// The first SIGTERM during start-up was swallowed: a trace read from a pipe
// (or /dev/zero) kept the driver going after `timeout` sent its one signal.
TEST_F(DriverE2eTest, SigtermDuringStartUpExitsAtOnce) {
  const std::string fifo = *dir_ + "/trace.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto d = StartDriver({"--target=" + Target(), "--schedule=trace:" + fifo,
                        "--out=" + *dir_ + "/fifo.csv", "--metrics-port=0"},
                       "fifo");
  // A writer can open the pipe once the driver has it open for reading; the
  // driver then waits for rates that never come.
  int writer = -1;
  ASSERT_TRUE(knbench::testing::WaitUntil(
      [&] {
        writer = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        return writer >= 0;
      },
      absl::Seconds(20), absl::Milliseconds(10)));
  d->Signal(SIGTERM);
  EXPECT_EQ(d->Wait(absl::Seconds(10)), 128 + SIGTERM) << d->Stderr();
  EXPECT_THAT(d->Stderr(), HasSubstr("during start-up"));
  close(writer);
}

// "achieved" reported the target rate even when scheduling fell far behind.
// A driver stopped for 3 s before its last request ends late: the summary
// says how long it really took, and the rate it really achieved.
TEST_F(DriverE2eTest, SummaryReportsTheRealDurationAndRate) {
  const int port = PickFreePort();
  const std::string json_path = *dir_ + "/late.json";
  auto d =
      StartDriver({"--target=" + Target(), "--spin-ms=0",
                   "--schedule=10@1s,0@2s,10@100ms",  // 11 requests, 3.1 s
                   "--out=" + *dir_ + "/late.csv", "--summary=" + json_path,
                   absl::StrCat("--metrics-port=", port)},
                  "late");
  ASSERT_TRUE(WaitScheduled(port, 10, absl::Seconds(20))) << d->Stderr();
  d->Signal(SIGSTOP);  // during the pause: the last request is due at 3 s
  absl::SleepFor(absl::Seconds(3));
  d->Signal(SIGCONT);
  ASSERT_EQ(d->Wait(absl::Seconds(30)), 0) << d->Stderr();
  const std::string json = Subprocess::Read(json_path);
  EXPECT_EQ(JsonInt(json, "sent"), 11);
  const double duration = JsonDouble(json, "duration_s");
  EXPECT_GE(duration, 3.9) << json;
  EXPECT_NEAR(JsonDouble(json, "achieved_rps"), 11 / duration, 0.01) << json;
}

TEST_F(DriverE2eTest, WriteErrorIsReportedAndCountsReachTheSummary) {
  const std::string summary = *dir_ + "/full.json";
  auto d = StartDriver(
      {"--target=" + Target(), "--rps=2000", "--duration=2s", "--spin-ms=0",
       "--out=/dev/full", "--metrics-port=0", "--summary=" + summary},
      "full");
  ASSERT_EQ(d->Wait(absl::Seconds(60)), 1) << d->Stderr();
  EXPECT_THAT(d->Stderr(),
              HasSubstr("writing /dev/full: No space left on device"));
  const std::string json = Subprocess::Read(summary);
  EXPECT_EQ(JsonInt(json, "scheduled"), 4000);
  EXPECT_EQ(JsonInt(json, "success") + JsonInt(json, "failure") +
                JsonInt(json, "dropped"),
            4000);
  EXPECT_THAT(
      json,
      HasSubstr(
          "\"write_error\": \"writing /dev/full: No space left on device\""));
}

}  // namespace
}  // namespace knbench::load_driver
