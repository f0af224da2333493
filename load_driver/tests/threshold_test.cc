#include "knbench/load_driver/threshold.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/load_driver/summary.h"

namespace knbench::load_driver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Threshold Parse(absl::string_view spec) {
  absl::StatusOr<Threshold> t = ParseThreshold(spec);
  EXPECT_TRUE(t.ok()) << spec << ": " << t.status();
  return t.ok() ? *t : Threshold{};
}

TEST(ThresholdTest, ParsesLatencyRateAndThroughput) {
  Threshold t = Parse("p99<200ms");
  EXPECT_EQ(t.metric, "intended p99");  // from the intended send by default
  EXPECT_EQ(t.op, Threshold::Op::kLess);
  EXPECT_DOUBLE_EQ(t.limit, 200);
  t = Parse(" send_p50 <= 1.5s ");
  EXPECT_EQ(t.spec, "send_p50 <= 1.5s");
  EXPECT_EQ(t.metric, "send p50");
  EXPECT_EQ(t.op, Threshold::Op::kLessEqual);
  EXPECT_DOUBLE_EQ(t.limit, 1500);
  EXPECT_EQ(Parse("intended_p999<800us").metric, "intended p99.9");
  EXPECT_DOUBLE_EQ(Parse("intended_p999<800us").limit, 0.8);
  EXPECT_EQ(Parse("max>=1m").op, Threshold::Op::kGreaterEqual);
  EXPECT_DOUBLE_EQ(Parse("max>=1m").limit, 60000);
  t = Parse("failure_rate<0.01");
  EXPECT_EQ(t.metric, "failure_rate");
  EXPECT_DOUBLE_EQ(t.limit, 0.01);
  EXPECT_DOUBLE_EQ(Parse("failure_rate<2.5%").limit, 0.025);
  t = Parse("achieved_rps>95");
  EXPECT_EQ(t.op, Threshold::Op::kGreater);
  EXPECT_DOUBLE_EQ(t.limit, 95);
}

TEST(ThresholdTest, RejectsWithOneClearReason) {
  for (const auto& [spec, why] :
       std::vector<std::pair<std::string, std::string>>{
           {"p99", "want METRIC<VALUE"},
           {"<200ms", "want METRIC<VALUE"},
           {"p99<", "no value after the comparison"},
           {"p42<200ms", "unknown metric \"p42\""},
           {"latency<200ms", "unknown metric"},
           {"p99<200", "a latency needs a unit"},
           {"p99<fast", "\"fast\" is not a duration"},
           {"p99<-5ms", "is not a duration"},
           {"failure_rate<2", "a ratio from 0 to 1"},
           {"failure_rate<lots", "a ratio from 0 to 1"},
           {"failure_rate<120%", "a ratio from 0 to 1"},
           {"achieved_rps>many", "a rate in requests/s"},
       }) {
    absl::StatusOr<Threshold> t = ParseThreshold(spec);
    ASSERT_FALSE(t.ok()) << spec;
    EXPECT_THAT(t.status().message(),
                HasSubstr("--threshold \"" + spec + "\""));
    EXPECT_THAT(t.status().message(), HasSubstr(why)) << spec;
  }
  EXPECT_FALSE(ParseThresholds("p99<200ms,bogus").ok());
  absl::StatusOr<std::vector<Threshold>> list =
      ParseThresholds("p99<200ms, failure_rate<0.01,");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE(ParseThresholds("")->empty());
}

Summary Example() {
  Summary s;
  s.scheduled = 1000;
  s.success = 960;
  s.failure = 30;
  s.dropped = 10;  // failure_rate = 0.04
  s.achieved_rps = 99;
  s.latency_ms.count = 960;
  s.latency_ms.p50 = 10;
  s.latency_ms.p99 = 150;
  s.intended_latency_ms.count = 960;
  s.intended_latency_ms.p50 = 12;
  s.intended_latency_ms.p99 = 210;
  s.intended_latency_ms.max = 400;
  return s;
}

std::vector<ThresholdOutcome> Evaluate(absl::string_view specs,
                                       const Summary& s) {
  absl::StatusOr<std::vector<Threshold>> t = ParseThresholds(specs);
  EXPECT_TRUE(t.ok()) << t.status();
  return EvaluateThresholds(*t, s);
}

TEST(ThresholdTest, EvaluatesAgainstTheSummary) {
  const Summary s = Example();
  auto o = Evaluate(
      "p99<200ms,send_p99<200ms,p50<=12ms,p50<12ms,failure_rate<0.05,"
      "failure_rate<1%,achieved_rps>=99,max>1s",
      s);
  ASSERT_EQ(o.size(), 8u);
  std::vector<bool> ok;
  for (const auto& x : o) ok.push_back(x.ok);
  // intended p99 210 > 200; actual-send p99 150; <= and < at the boundary;
  // 4 % failed; 99 rps; max 400 ms.
  EXPECT_THAT(ok,
              ElementsAre(false, true, true, false, true, false, true, false));
  EXPECT_DOUBLE_EQ(*o[0].observed, 210);
  EXPECT_EQ(o[0].unit, "ms");
  EXPECT_DOUBLE_EQ(*o[4].observed, 0.04);
  EXPECT_EQ(o[4].unit, "");
  EXPECT_EQ(o[6].unit, "rps");
  EXPECT_FALSE(AllPassed(o));
  EXPECT_TRUE(AllPassed(Evaluate("p99<1s,failure_rate<0.05", s)));
  EXPECT_TRUE(AllPassed({}));
}

TEST(ThresholdTest, NoSamplesIsAFailure) {
  Summary s;  // nothing scheduled, nothing measured
  auto o = Evaluate("p99<200ms,failure_rate<0.01", s);
  EXPECT_FALSE(o[0].ok);
  EXPECT_FALSE(o[0].observed.has_value());
  EXPECT_FALSE(o[1].ok);
}

TEST(ThresholdTest, TextAndJsonAreExact) {
  const auto o =
      Evaluate("p99<200ms,failure_rate<0.05,achieved_rps>=99", Example());
  EXPECT_EQ(FormatThresholdsText(o),
            "p99<200ms FAILED (210.000 ms)  failure_rate<0.05 ok (0.0400)  "
            "achieved_rps>=99 ok (99.000 rps)");
  EXPECT_EQ(
      JsonText(ThresholdsJson(o)),
      R"([{"spec":"p99<200ms","ok":false,"observed":210.0,"unit":"ms"},)"
      R"({"spec":"failure_rate<0.05","ok":true,"observed":0.04,"unit":""},)"
      R"({"spec":"achieved_rps>=99","ok":true,"observed":99.0,)"
      R"("unit":"rps"}])");
  EXPECT_EQ(FormatThresholdsText(Evaluate("p99<1ms", Summary{})),
            "p99<1ms FAILED (no samples)");
  EXPECT_EQ(JsonText(ThresholdsJson({})), "[]");
  // A tab around the operator stays in the spec: the JSON escapes it.
  EXPECT_EQ(
      JsonText(ThresholdsJson({{"p99\t<1ms", std::nullopt, "ms", false}})),
      R"([{"spec":"p99\t<1ms","ok":false,"observed":null,"unit":"ms"}])");
}

TEST(ThresholdTest, SummaryShowsThresholdsOnlyWhenGiven) {
  Summary s = Example();
  EXPECT_THAT(FormatSummaryJson(s), ::testing::Not(HasSubstr("thresholds")));
  EXPECT_THAT(FormatSummaryText(s), ::testing::Not(HasSubstr("thresholds")));
  s.thresholds = Evaluate("p99<200ms", s);
  EXPECT_THAT(FormatSummaryJson(s), HasSubstr(R"(
  "thresholds": [
    {
      "spec": "p99<200ms",
      "ok": false,
      "observed": 210.0,
      "unit": "ms"
    }
  ],
  "write_error": null
})"));
  EXPECT_THAT(FormatSummaryText(s),
              HasSubstr("\nthresholds    p99<200ms FAILED (210.000 ms)\n"));
}

}  // namespace
}  // namespace knbench::load_driver
