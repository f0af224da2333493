#include "knbench/load_driver/schedule.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench::load_driver {
namespace {

using ::testing::HasSubstr;

std::vector<Arrival> All(const Schedule& s, Arrivals mode = Arrivals::kUniform,
                         uint64_t seed = 1,
                         absl::Duration warmup = absl::ZeroDuration()) {
  ArrivalGenerator gen(s, mode, seed, warmup);
  std::vector<Arrival> out;
  Arrival a;
  while (gen.Next(&a)) out.push_back(a);
  return out;
}

// Arrivals with offset in [from, to).
int64_t CountIn(const std::vector<Arrival>& v, absl::Duration from,
                absl::Duration to) {
  int64_t n = 0;
  for (const Arrival& a : v) n += a.offset >= from && a.offset < to;
  return n;
}

std::string TempFile(const std::string& content) {
  char name[] = "/tmp/knbench_trace_XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  close(fd);
  return name;
}

TEST(ScheduleTest, ConstantRateIsExactAndEvenlySpaced) {
  auto s = Schedule::Constant(1000, absl::Seconds(5));
  ASSERT_TRUE(s.ok()) << s.status();
  const auto v = All(*s);
  ASSERT_EQ(v.size(), 5000u);
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i].seq, static_cast<int64_t>(i + 1));
    ASSERT_EQ(v[i].offset, absl::Milliseconds(static_cast<int64_t>(i)));
    EXPECT_EQ(v[i].rps, 1000);
    EXPECT_EQ(v[i].phase, 0);
  }
}

TEST(ScheduleTest, FractionalRateKeepsItsExactValue) {
  auto s = Schedule::Constant(1.0 / 3, absl::Seconds(30));
  ASSERT_TRUE(s.ok()) << s.status();
  const auto v = All(*s);
  ASSERT_EQ(v.size(), 10u);
  EXPECT_EQ(v[9].offset, absl::Seconds(27));
}

TEST(ScheduleTest, NoDriftOverLongRuns) {
  // 20 000 RPS for 1 h: the last of 72 million requests is exactly where
  // (n-1)/rate puts it, to the nanosecond, however many came before.
  auto s = Schedule::Constant(20000, absl::Hours(1));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->UniformCount(), 72'000'000);
  size_t hint = 0;
  EXPECT_EQ(s->OffsetOf(71'999'999, &hint),
            absl::Seconds(3600) - absl::Microseconds(50));
  EXPECT_EQ(s->OffsetOf(36'000'001, &hint),
            absl::Seconds(1800) + absl::Microseconds(50));
}

TEST(ScheduleTest, RampCountsFollowTheIntegral) {
  auto s = Schedule::Parse("100..500@60s");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->expected(), 18000);
  const auto v = All(*s);
  EXPECT_EQ(v.size(), 18000u);
  // Each 10 s window holds the integral of the rate over it, +-1.
  for (int w = 0; w < 6; ++w) {
    const double r0 = 100 + 400.0 * w / 6, r1 = 100 + 400.0 * (w + 1) / 6;
    const double expected = (r0 + r1) / 2 * 10;
    const int64_t got =
        CountIn(v, absl::Seconds(10 * w), absl::Seconds(10 * (w + 1)));
    EXPECT_NEAR(static_cast<double>(got), expected, 1.0) << "window " << w;
  }
  for (size_t i = 1; i < v.size(); ++i) ASSERT_GT(v[i].offset, v[i - 1].offset);
  // The recorded target rate is the ramp's rate at that moment.
  EXPECT_NEAR(v[0].rps, 100, 1e-9);
  EXPECT_NEAR(v.back().rps, 500, 0.1);
}

TEST(ScheduleTest, DownwardRampAndRampFromZero) {
  auto down = Schedule::Parse("500..100@20s");
  ASSERT_TRUE(down.ok());
  auto v = All(*down);
  EXPECT_EQ(v.size(), 6000u);
  EXPECT_NEAR(
      static_cast<double>(CountIn(v, absl::ZeroDuration(), absl::Seconds(10))),
      4000, 1);
  auto up = Schedule::Parse("0..100@10s");
  ASSERT_TRUE(up.ok());
  v = All(*up);
  EXPECT_EQ(v.size(), 500u);
  // N(t) = 5 t^2: half the requests by t = sqrt(50) s.
  EXPECT_NEAR(static_cast<double>(CountIn(v, absl::ZeroDuration(),
                                          absl::Seconds(std::sqrt(50.0)))),
              250, 1);
}

TEST(ScheduleTest, StaircaseHoldsEachStep) {
  auto s = Schedule::Parse("step:100:50:300@10s");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->segments().size(), 5u);
  EXPECT_EQ(s->length(), absl::Seconds(50));
  const auto v = All(*s);
  EXPECT_EQ(v.size(), 10000u);
  const double rates[] = {100, 150, 200, 250, 300};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(CountIn(v, absl::Seconds(10 * i), absl::Seconds(10 * (i + 1))),
              static_cast<int64_t>(rates[i] * 10));
    EXPECT_EQ(s->RateAt(absl::Seconds(10 * i + 5)), rates[i]);
  }
  auto down = Schedule::Parse("step:300:100:100@1m");
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->RateAt(absl::Seconds(30)), 300);
  EXPECT_EQ(down->RateAt(absl::Seconds(150)), 100);
  EXPECT_EQ(down->length(), absl::Minutes(3));
}

TEST(ScheduleTest, PhasesInSequenceEachWithinOne) {
  auto s = Schedule::Parse(
      "100@30s, 100..500@60s, step:100:50:300@10s, 0@5s, 7.5@2s");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->phases().size(), 5u);
  EXPECT_EQ(s->phases()[1].kind, "ramp");
  EXPECT_EQ(s->phases()[2].kind, "staircase");
  EXPECT_EQ(s->phases()[2].start, absl::Seconds(90));
  EXPECT_EQ(s->length(), absl::Seconds(147));
  const auto v = All(*s);
  std::vector<int64_t> per_phase(5, 0);
  for (const Arrival& a : v) ++per_phase[a.phase];
  for (int p = 0; p < 5; ++p) {
    EXPECT_NEAR(static_cast<double>(per_phase[p]), s->phases()[p].expected, 1.0)
        << "phase " << p;
  }
  EXPECT_EQ(per_phase[3], 0);
  EXPECT_EQ(static_cast<int64_t>(v.size()), s->UniformCount());
}

TEST(ScheduleTest, PoissonMeanAndDispersion) {
  auto s = Schedule::Constant(50, absl::Seconds(2000));
  ASSERT_TRUE(s.ok());
  const auto v = All(*s, Arrivals::kPoisson, 42);
  // Mean: 100 000 expected, sd 316.
  EXPECT_NEAR(static_cast<double>(v.size()), 100000, 4 * 316);
  // Counts per second: variance/mean near 1 (a uniform process gives 0).
  std::vector<double> counts(2000, 0);
  for (const Arrival& a : v) {
    ++counts[static_cast<size_t>(absl::ToInt64Seconds(a.offset))];
  }
  double mean = 0, var = 0;
  for (double c : counts) mean += c;
  mean /= counts.size();
  for (double c : counts) var += (c - mean) * (c - mean);
  var /= counts.size() - 1;
  EXPECT_NEAR(mean, 50, 1.5);
  EXPECT_NEAR(var / mean, 1.0, 0.15);
  for (size_t i = 1; i < v.size(); ++i) ASSERT_GE(v[i].offset, v[i - 1].offset);
  // Same seed, same arrivals; another seed, other arrivals.
  const auto again = All(*s, Arrivals::kPoisson, 42);
  ASSERT_EQ(again.size(), v.size());
  EXPECT_EQ(again[1234].offset, v[1234].offset);
  const auto other = All(*s, Arrivals::kPoisson, 43);
  EXPECT_NE(other[1234].offset, v[1234].offset);
}

TEST(ScheduleTest, PoissonFollowsARamp) {
  auto s = Schedule::Parse("0..200@100s");
  ASSERT_TRUE(s.ok());
  const auto v = All(*s, Arrivals::kPoisson, 7);
  // First half expects 2500, second 7500 (sd ~50 and ~87).
  EXPECT_NEAR(
      static_cast<double>(CountIn(v, absl::ZeroDuration(), absl::Seconds(50))),
      2500, 4 * 50);
  EXPECT_NEAR(
      static_cast<double>(CountIn(v, absl::Seconds(50), absl::Seconds(100))),
      7500, 4 * 87);
}

TEST(ScheduleTest, TracePerSecondAndPerMinute) {
  const std::string path =
      TempFile("second,rps\n0,10\n1,20\n\n# pause\n2,0\n3,30\n");
  auto s = Schedule::Parse("trace:" + path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->length(), absl::Seconds(4));
  const auto v = All(*s);
  EXPECT_EQ(v.size(), 60u);
  EXPECT_EQ(CountIn(v, absl::Seconds(0), absl::Seconds(1)), 10);
  EXPECT_EQ(CountIn(v, absl::Seconds(1), absl::Seconds(2)), 20);
  EXPECT_EQ(CountIn(v, absl::Seconds(2), absl::Seconds(3)), 0);
  EXPECT_EQ(CountIn(v, absl::Seconds(3), absl::Seconds(4)), 30);

  const std::string minutes = TempFile("2\n4\n");
  auto m = Schedule::Parse("trace:" + minutes + "@1m,1@10s");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->length(), absl::Seconds(130));
  EXPECT_EQ(m->phases()[0].kind, "trace");
  EXPECT_DOUBLE_EQ(m->phases()[0].expected, 360);
  EXPECT_EQ(All(*m).size(), 370u);
  std::remove(path.c_str());
  std::remove(minutes.c_str());
}

// Trace files are CSV, read by the kit's one CSV reader: a quoted time
// with a comma, a quoted rate, a comment with a stray quote.
TEST(ScheduleTest, TraceFilesAreReadAsCsv) {
  const std::string path = TempFile(
      "time,rate\n\"2024-01-01, 00:00\",5\n# said \"hi, there\n"
      "\"2024-01-01, 00:01\",\"7\"\r\n");
  auto rates = ReadTraceRates(path);
  std::remove(path.c_str());
  ASSERT_TRUE(rates.ok()) << rates.status();
  EXPECT_THAT(*rates, ::testing::ElementsAre(5, 7));
}

TEST(ScheduleTest, BadTraceFilesNameTheProblem) {
  const std::string path = TempFile("10\n20\nabc\n");
  auto s = Schedule::Parse("trace:" + path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("line 3"));
  std::remove(path.c_str());
  auto missing = Schedule::Parse("trace:/nonexistent/trace.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("cannot open"));
}

// A UTF-8 byte order mark made the first line look like a header, and its
// rate was dropped.
TEST(ScheduleTest, TraceWithAByteOrderMarkKeepsItsFirstRate) {
  for (const std::string content : {"\xEF\xBB\xBF"
                                    "10\n20\n",
                                    "\xEF\xBB\xBF"
                                    "0,10\r\n1,20\r\n"}) {
    const std::string path = TempFile(content);
    auto s = Schedule::Parse("trace:" + path);
    std::remove(path.c_str());
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->length(), absl::Seconds(2));
    EXPECT_DOUBLE_EQ(s->expected(), 30);
    EXPECT_DOUBLE_EQ(s->phases()[0].first_rps, 10);
  }
}

// trace:/dev/zero grew the driver to 11 GB: a trace is read within limits.
TEST(ScheduleTest, TraceFilesAreReadWithinLimits) {
  const absl::Time start = absl::Now();
  auto zero = ReadTraceRates("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("line 1 is longer than 4096 bytes"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  std::string many;
  for (size_t i = 0; i <= kMaxTraceRates; ++i) many += "1\n";
  const std::string path = TempFile(many);
  auto too_many = ReadTraceRates(path);
  std::remove(path.c_str());
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(std::string(too_many.status().message()),
              HasSubstr("more than 1000000 rates"));

  // Large, though every line is short: stopped at 64 MiB.
  std::string blank_lines(kMaxTraceBytes + 1, '\n');
  const std::string big = TempFile(blank_lines);
  blank_lines.clear();
  auto too_big = ReadTraceRates(big);
  std::remove(big.c_str());
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(std::string(too_big.status().message()),
              HasSubstr("larger than 64 MiB"));

  // A last line without a newline still counts.
  const std::string last = TempFile("5\n7");
  auto rates = ReadTraceRates(last);
  std::remove(last.c_str());
  ASSERT_TRUE(rates.ok()) << rates.status();
  EXPECT_THAT(*rates, ::testing::ElementsAre(5, 7));
}

TEST(ScheduleTest, RejectsBadSpecs) {
  for (const char* bad :
       {"", "abc", "100", "100@", "100@abc", "100@-5s", "-5@10s", "100@0s",
        "10..@5s", "step:1:0:5@1s", "step:1:2@1s", "0@10s", "100@30s,,5@1s",
        "inf@1s", "nan@1s", "100@200h"}) {
    EXPECT_FALSE(Schedule::Parse(bad).ok()) << "accepted \"" << bad << "\"";
  }
  EXPECT_FALSE(Schedule::Constant(0, absl::Seconds(1)).ok());
  EXPECT_FALSE(Schedule::Constant(-1, absl::Seconds(1)).ok());
  EXPECT_FALSE(Schedule::Constant(10, -absl::Seconds(1)).ok());
  auto e = Schedule::Parse("100@abc");
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("bad duration"));
}

// A step far smaller than the span: the number of steps is beyond any
// integer, found by the fuzzer as a float-to-integer overflow.
TEST(ScheduleTest, StaircaseWithTooManyStepsIsAnErrorNotAnOverflow) {
  for (const char* bad :
       {"step:1:0.000000000000000000000000000000000000001:5@2s",
        "step:0:1:100000@1s"}) {
    auto s = Schedule::Parse(bad);
    ASSERT_FALSE(s.ok()) << "accepted \"" << bad << "\"";
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("too many steps"));
  }
  EXPECT_TRUE(Schedule::Parse("step:0:1:99999@1ms").ok());
}

TEST(ScheduleTest, WarmupMarksTheFirstPart) {
  auto s = Schedule::Constant(10, absl::Seconds(10));
  ASSERT_TRUE(s.ok());
  const auto v = All(*s, Arrivals::kUniform, 1, absl::Seconds(2));
  ASSERT_EQ(v.size(), 100u);
  for (const Arrival& a : v) EXPECT_EQ(a.warmup, a.seq <= 20) << a.seq;
}

TEST(ScheduleTest, DescribeListsPhases) {
  auto s = Schedule::Parse("10@1m,step:10:10:30@30s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->Describe(),
            "phase 0: constant 10 rps from 0 for 1m, 600 requests (10@1m)\n"
            "phase 1: staircase 10..30 rps from 1m for 1m30s, 1800 requests "
            "(step:10:10:30@30s)\n"
            "total: 2m30s, 2400 requests\n");
}

// A staircase or ramp that goes down used to be described as going up.
TEST(ScheduleTest, DescribeGivesTheDirectionOfStaircasesAndRamps) {
  auto s = Schedule::Parse("step:300:100:100@10s,50..10@10s");
  ASSERT_TRUE(s.ok());
  const std::string d = s->Describe();
  EXPECT_THAT(d, HasSubstr("phase 0: staircase 300..100 rps"));
  EXPECT_THAT(d, HasSubstr("phase 1: ramp 50..10 rps"));
  const std::string path = TempFile("20\n5\n40\n");
  auto t = Schedule::Parse("trace:" + path);
  std::remove(path.c_str());
  ASSERT_TRUE(t.ok());
  EXPECT_THAT(t->Describe(), HasSubstr("phase 0: trace between 5 and 40 rps"));
}

}  // namespace
}  // namespace knbench::load_driver
