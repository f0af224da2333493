// The load_driver binary's command line: usage errors exit 2 before any load,
// --check-config and --help exit 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "subprocess.h"
#include "test_files.h"

namespace knbench::load_driver {
namespace {

using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out, err;
};

Result RunDriverCli(std::vector<std::string> args) {
  static int n = 0;
  static const std::string dir = MakeTempDir();
  args.insert(args.begin(), KNBENCH_DRIVER_BIN);
  Subprocess p(args, dir + "/run" + std::to_string(n++));
  EXPECT_TRUE(p.started());
  Result r;
  r.code = p.Wait(absl::Seconds(20)).value_or(-1);
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

TEST(CliTest, UsageErrorsExitTwoWithOneLine) {
  const std::string out = "--out=" + MakeTempDir() + "/r.csv";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--rps=0", "--target=127.0.0.1:1", out}, "--rps must be > 0"},
      {{"--rps=abc", "--target=127.0.0.1:1", out}, "--rps=abc: Illegal value"},
      {{"--duration=-5s", "--target=127.0.0.1:1", out},
       "--duration must be > 0"},
      {{"--duration=5x", "--target=127.0.0.1:1", out},
       "--duration=5x: Illegal value"},
      {{"--schedule=100@", "--target=127.0.0.1:1", out}, "bad duration"},
      {{"--schedule=fast", "--target=127.0.0.1:1", out}, "needs @DURATION"},
      {{"--target=no-such-host.invalid:80", out}, "cannot resolve"},
      {{"--no-such-flag=1", out}, "unknown flag --no-such-flag"},
      {{"--target=127.0.0.1:1", "stray", out}, "unexpected argument"},
      {{"--target=127.0.0.1:1", "--out=/nonexistent-dir/r.csv",
        "--metrics-port=0", "--bind=127.0.0.1", "--duration=1s"},
       "cannot create --out"},
      {{"--target=127.0.0.1:1", "--bind=localhost", out}, "--bind"},
      {{"--target=127.0.0.1:1", "--connect-timeout=0s", out},
       "--connect-timeout"},
      {{"--target=127.0.0.1:1", "--transport=quic", out}, "--transport"},
      {{"--target=127.0.0.1:1", "--pacing-quantum=1s", out},
       "--pacing-quantum"},
      {{"--target=unix:/tmp/w.sock", "--transport=h2", out}, "--transport"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = RunDriverCli(args);
    EXPECT_EQ(r.code, 2) << args[0] << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(message)) << args[0];
    if (message != "cannot create --out") {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
  }
}

// --summary equal to --out replaced the CSV; an unwritable --summary was
// found only after the whole run. Both are refused before any load.
TEST(CliTest, SummaryPathIsCheckedBeforeTheRun) {
  const std::string dir = MakeTempDir();
  const Result same = RunDriverCli({"--target=127.0.0.1:1", "--metrics-port=0",
                                    "--out=" + dir + "/r.csv",
                                    "--summary=" + dir + "/./r.csv"});
  EXPECT_EQ(same.code, 2) << same.err;
  EXPECT_THAT(same.err, HasSubstr("is the --out file"));
  EXPECT_EQ(std::count(same.err.begin(), same.err.end(), '\n'), 1) << same.err;

  const Result unwritable = RunDriverCli(
      {"--target=127.0.0.1:1", "--metrics-port=0", "--bind=127.0.0.1",
       "--duration=60s", "--out=" + dir + "/never.csv",
       "--summary=/nonexistent-dir/s.json"});
  EXPECT_EQ(unwritable.code, 2) << unwritable.err;
  EXPECT_THAT(unwritable.err,
              HasSubstr("cannot create --summary /nonexistent-dir/s.json"));
  EXPECT_EQ(std::count(unwritable.err.begin(), unwritable.err.end(), '\n'), 1)
      << unwritable.err;
  EXPECT_NE(access((dir + "/never.csv").c_str(), F_OK), 0)
      << "the CSV was created";
}

// Like every server of the kit, the driver does not start beside another
// listener on its metrics port: exit 1 and one line, nothing sent.
TEST(CliTest, BusyMetricsPortIsExitOneWithOneLine) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int busy = ntohs(addr.sin_port);

  const std::string dir = MakeTempDir();
  const Result r = RunDriverCli({"--target=127.0.0.1:1", "--bind=127.0.0.1",
                                 "--metrics-port=" + std::to_string(busy),
                                 "--duration=60s", "--out=" + dir + "/r.csv"});
  close(fd);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("port " + std::to_string(busy)));
  EXPECT_THAT(r.err, HasSubstr("already in use"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CliTest, CheckConfigPrintsTheResolvedScheduleWithoutNetwork) {
  // The Job's own target: not resolvable here, and not needed to check.
  const Result r =
      RunDriverCli({"--check-config", "--spin-ms=250", "--out=/out/results.csv",
                    "--schedule=0..100@1m,step:100:100:300@2m", "--warmup=30s",
                    "-arrivals=poisson", "--seed=9"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      HasSubstr("target            worker.default.svc.cluster.local:80\n"));
  EXPECT_THAT(r.out, HasSubstr("spin_ms           250\n"));
  EXPECT_THAT(r.out,
              HasSubstr("summary           /out/results.summary.json\n"));
  EXPECT_THAT(r.out, HasSubstr("arrivals          poisson (seed 9)\n"));
  EXPECT_THAT(r.out, HasSubstr("75000 expected (poisson arrivals"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("uniform arrivals")));
  EXPECT_THAT(r.out,
              HasSubstr("phase 1: staircase 100..300 rps from 1m for 6m"));
  EXPECT_THAT(r.out, HasSubstr("total: 7m, 75000 requests\n"));
  // Original defaults: 5 rps for 12 m.
  const Result d = RunDriverCli({"--check-config"});
  EXPECT_EQ(d.code, 0);
  EXPECT_THAT(d.out, HasSubstr("requests          3600 (uniform arrivals)\n"));
  EXPECT_THAT(d.out, HasSubstr("metrics_port      2113\n"));
  EXPECT_THAT(d.out, HasSubstr("bind              0.0.0.0\n"));
  EXPECT_THAT(d.out, HasSubstr("connect_timeout   20s\n"));
  EXPECT_THAT(d.out, HasSubstr("pacing_quantum    200us\n"));
  // gRPC's own schemes go through gRPC's library.
  const Result unix_target =
      RunDriverCli({"--check-config", "--target=unix:/run/worker.sock"});
  EXPECT_EQ(unix_target.code, 0) << unix_target.err;
  EXPECT_THAT(unix_target.out, HasSubstr("transport         grpc\n"));
  // A staircase going down is described going down.
  const Result down =
      RunDriverCli({"--check-config", "--schedule=step:500:100:100@1m"});
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_THAT(down.out, HasSubstr("phase 0: staircase 500..100 rps"));
}

TEST(CliTest, HelpDocumentsGrammarFlagsAndExitCodes) {
  const Result r = RunDriverCli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("step:START:STEP:END@HOLD"));
  EXPECT_THAT(r.out, HasSubstr("--spin-ms (default 100)"));
  EXPECT_THAT(r.out, HasSubstr("--drain-timeout"));
  EXPECT_THAT(r.out, HasSubstr("Exit codes:"));
  EXPECT_THAT(r.out,
              HasSubstr("timestamp_ms,rps,spin_ms,seq,latency_ms,status"));
}

}  // namespace
}  // namespace knbench::load_driver
