#include "knbench/load_driver/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench::load_driver {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Config Valid() {
  Config c;
  c.target = "127.0.0.1:50051";
  c.rps = 100;
  c.duration = absl::Seconds(10);
  c.out = "/tmp/x/results.csv";
  return c;
}

std::string ErrorOf(Config c) {
  absl::Status st = ResolveConfig(&c);
  return st.ok() ? "" : std::string(st.message());
}

TEST(ConfigTest, DefaultsResolve) {
  Config c = Valid();
  ASSERT_TRUE(ResolveConfig(&c).ok());
  EXPECT_EQ(c.summary_path, "/tmp/x/results.summary.json");
  EXPECT_EQ(c.drain_timeout, absl::Seconds(30));
  EXPECT_EQ(c.schedule->UniformCount(), 1000);
  EXPECT_EQ(c.schedule->spec(), "100@10s");
  c = Valid();
  c.out = "results.csv";
  c.drain_timeout_text = "5s";
  c.schedule_spec = "step:10:10:30@1m";
  ASSERT_TRUE(ResolveConfig(&c).ok());
  EXPECT_EQ(c.summary_path, "results.summary.json");
  EXPECT_EQ(c.drain_timeout, absl::Seconds(5));
  EXPECT_EQ(c.schedule->length(), absl::Minutes(3));
  // The original Job's target is valid syntax (resolution is checked later).
  Config d;
  ASSERT_TRUE(ResolveConfig(&d).ok());
  EXPECT_EQ(d.schedule->UniformCount(), 3600);
}

TEST(ConfigTest, BadInputIsOneClearMessage) {
  Config c = Valid();
  c.rps = 0;
  EXPECT_THAT(ErrorOf(c), HasSubstr("--rps must be > 0"));
  c = Valid();
  c.duration = -absl::Seconds(5);
  EXPECT_THAT(ErrorOf(c), HasSubstr("--duration must be > 0"));
  c = Valid();
  c.schedule_spec = "100@";
  EXPECT_THAT(ErrorOf(c), HasSubstr("bad duration"));
  c = Valid();
  c.warmup = absl::Seconds(10);
  EXPECT_THAT(ErrorOf(c), HasSubstr("covers the whole schedule"));
  c = Valid();
  c.warmup = -absl::Seconds(1);
  EXPECT_THAT(ErrorOf(c), HasSubstr("--warmup"));
  c = Valid();
  c.target = "no-port";
  EXPECT_THAT(ErrorOf(c), HasSubstr("host:port"));
  c = Valid();
  c.target = "host:99999";
  EXPECT_THAT(ErrorOf(c), HasSubstr("bad port"));
  c = Valid();
  c.arrivals_name = "bursty";
  EXPECT_THAT(ErrorOf(c), HasSubstr("--arrivals"));
  c = Valid();
  c.connections = 0;
  EXPECT_THAT(ErrorOf(c), HasSubstr("--connections"));
  c = Valid();
  c.drain_timeout_text = "soon";
  EXPECT_THAT(ErrorOf(c), HasSubstr("--drain-timeout"));
  c = Valid();
  c.timeout = absl::ZeroDuration();
  EXPECT_THAT(ErrorOf(c), HasSubstr("--timeout"));
  c = Valid();
  c.connect_timeout = absl::ZeroDuration();
  EXPECT_THAT(ErrorOf(c), HasSubstr("--connect-timeout"));
  c = Valid();
  c.bind = "localhost";
  EXPECT_THAT(ErrorOf(c), HasSubstr("--bind"));
}

// Two hand runs in one directory used to share (and overwrite) one
// summary.json.
TEST(ConfigTest, DefaultSummaryFollowsTheOutName) {
  EXPECT_EQ(SummaryPathFor("/out/results.csv"), "/out/results.summary.json");
  EXPECT_EQ(SummaryPathFor("stairs.csv"), "stairs.summary.json");
  EXPECT_EQ(SummaryPathFor("run.data"), "run.data.summary.json");
  EXPECT_NE(SummaryPathFor("a.csv"), SummaryPathFor("b.csv"));
}

// --summary equal to --out silently replaced the CSV with the summary.
TEST(ConfigTest, SummaryThatIsTheOutFileIsRefused) {
  for (const auto& [out, summary] :
       std::vector<std::pair<std::string, std::string>>{
           {"r.csv", "r.csv"},
           {"r.csv", "./r.csv"},
           {"/tmp/x/r.csv", "/tmp/x/../x/r.csv"},
           {"/tmp//r.csv", "/tmp/r.csv"}}) {
    Config c = Valid();
    c.out = out;
    c.summary = summary;
    EXPECT_THAT(ErrorOf(c), HasSubstr("is the --out file")) << summary;
  }
}

absl::Status Resolves(const std::string& text) {
  absl::StatusOr<Target> target = Target::Parse(text);
  return target.ok() ? CheckResolves(*target) : target.status();
}

TEST(ConfigTest, TargetResolution) {
  EXPECT_TRUE(Resolves("127.0.0.1:1").ok());
  EXPECT_TRUE(Resolves("localhost:50051").ok());
  EXPECT_TRUE(Resolves("[::1]:50051").ok());
  EXPECT_TRUE(Resolves("dns:///localhost:50051").ok());
  const absl::Status st = Resolves("no-such-host.invalid:80");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("cannot resolve"));
}

// --target is parsed once; the transports take its parts.
TEST(TargetTest, PartsOfEachForm) {
  absl::StatusOr<Target> t = Target::Parse("worker.default:80");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->text, "worker.default:80");
  EXPECT_EQ(t->host, "worker.default");
  EXPECT_EQ(t->port, "80");
  EXPECT_EQ(t->authority(), "worker.default:80");
  t = Target::Parse("dns:///[::1]:50051");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, "50051");
  EXPECT_EQ(t->authority(), "[::1]:50051");
  // gRPC's own schemes pass through for gRPC to read.
  t = Target::Parse("unix:/tmp/worker.sock");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_host_port());
  EXPECT_EQ(t->text, "unix:/tmp/worker.sock");
  EXPECT_TRUE(CheckResolves(*t).ok());
}

TEST(TargetTest, MalformedTargetsNameTheFlag) {
  for (const char* bad : {"", "no-port", ":80", "[::1]80", "[]:80", "h:0",
                          "h:65536", "h:x", "dns:///h"}) {
    const absl::StatusOr<Target> t = Target::Parse(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("--target"))
        << bad;
  }
}

TEST(ConfigTest, TransportFollowsTheTargetsForm) {
  Config c = Valid();
  ASSERT_TRUE(ResolveConfig(&c).ok());
  EXPECT_EQ(c.endpoint.host, "127.0.0.1");
  EXPECT_EQ(c.transport, HasH2Transport() ? "h2" : "grpc");
  c = Valid();
  c.target = "unix:/tmp/w.sock";
  ASSERT_TRUE(ResolveConfig(&c).ok());
  EXPECT_EQ(c.transport, "grpc");
  c = Valid();
  c.target = "unix:/tmp/w.sock";
  c.transport = "h2";
  EXPECT_THAT(ErrorOf(c),
              HasSubstr(HasH2Transport() ? "host:port" : "no nghttp2"));
}

TEST(ConfigTest, DescribeShowsScheduleAndCount) {
  Config c = Valid();
  c.schedule_spec = "10@1m";
  ASSERT_TRUE(ResolveConfig(&c).ok());
  const std::string d = DescribeConfig(c);
  EXPECT_THAT(d, HasSubstr("target            127.0.0.1:50051\n"));
  EXPECT_THAT(
      d, HasSubstr("phase 0: constant 10 rps from 0 for 1m, 600 requests"));
  EXPECT_THAT(d, HasSubstr("requests          600 (uniform arrivals)\n"));
  // Poisson arrivals send a random number of requests.
  c.arrivals_name = "poisson";
  ASSERT_TRUE(ResolveConfig(&c).ok());
  const std::string p = DescribeConfig(c);
  EXPECT_THAT(p, Not(HasSubstr("uniform")));
  EXPECT_THAT(p, HasSubstr("600 expected (poisson arrivals"));
}

}  // namespace
}  // namespace knbench::load_driver
