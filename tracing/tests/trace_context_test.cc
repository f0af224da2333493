#include "knbench/tracing/trace_context.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench::tracing {
namespace {

// The example of the W3C Trace Context specification.
constexpr char kExample[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesTheSpecificationsExample) {
  std::optional<SpanContext> c = ParseTraceparent(kExample);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(Hex(c->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(Hex(c->span_id), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled);
  EXPECT_EQ(FormatTraceparent(*c), kExample);
}

TEST(TraceparentTest, ReadsTheSampledBitOnly) {
  auto unsampled = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_FALSE(unsampled->sampled);
  EXPECT_THAT(FormatTraceparent(*unsampled), ::testing::EndsWith("-00"));
  // Flags other than "sampled" are kept out: we write 00 or 01 only.
  auto other = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->sampled);
  EXPECT_THAT(FormatTraceparent(*other), ::testing::EndsWith("-01"));
}

TEST(TraceparentTest, AcceptsLaterVersionsByTheirFirstFields) {
  EXPECT_TRUE(ParseTraceparent(
                  "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                  .has_value());
  EXPECT_TRUE(
      ParseTraceparent(
          "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")
          .has_value());
}

TEST(TraceparentTest, RejectsWhatIsNotOne) {
  for (const char* bad : {
           "",
           "garbage",
           // uppercase hex
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
           // all-zero trace id, all-zero span id
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
           // version ff is forbidden; version 00 has nothing after flags
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
           // wrong separators and lengths
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01",
       }) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
}

TEST(IdsTest, NewIdsAreValidAndDistinct) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 1000; ++i) {
    SpanContext c{NewTraceId(), NewSpanId(), true};
    EXPECT_TRUE(c.valid());
    traces.insert(Hex(c.trace_id));
    spans.insert(Hex(c.span_id));
    EXPECT_EQ(ParseTraceparent(FormatTraceparent(c))->trace_id, c.trace_id);
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

TEST(IdsTest, UniformDrawIsInTheUnitInterval) {
  double sum = 0;
  constexpr int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) {
    const double d = UniformDraw();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    sum += d;
  }
  // The mean of 10 000 uniform draws is 0.5 within 0.02 (7 standard errors).
  EXPECT_NEAR(sum / kDraws, 0.5, 0.02);
}

}  // namespace
}  // namespace knbench::tracing
