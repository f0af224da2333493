#include "knbench/autoscaler_model/input.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace knbench::autoscaler_model {
namespace {

absl::StatusOr<InputSeries> Read(const std::string& text) {
  std::istringstream in(text);
  return ReadInput(in);
}

void ExpectSeries(const std::vector<double>& got,
                  const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-9) << "second " << i;
  }
}

TEST(ReadInput, QuotedPodNamesWithCommas) {
  // The driver quotes awkward pod names; splitting on every comma rejected
  // such a CSV with "15 fields, header has 14".
  auto series = Read(
      "timestamp_ms,rps,spin_ms,seq,latency_ms,status,latency_us,"
      "intended_latency_us,lag_us,grpc_code,pod,server_spin_us,phase,warmup\n"
      "1000000,2,100,1,1000,success,1000000,1000000,0,OK,\"pod,\"\"a\"\"\","
      "100000,0,0\n");
  ASSERT_TRUE(series.ok()) << series.status();
  EXPECT_EQ(series->rows, 1);
  ExpectSeries(series->concurrency, {1.0});
}

TEST(ReadInput, RebuildsConcurrencyAndRateFromDriverCsv) {
  // fixtures/driver-small.csv, origin = second 1000 (epoch):
  //  #1 intended 1000.0 + lag 0.5 -> in flight 1000.5..1001.5 (1 s)
  //  #2 sent 1000.2, failed after 2.3 s -> 1000.2..1002.5
  //  #3 dropped: never in flight
  //  #4 intended 1001.9 + lag 0.2 -> 1002.1..1002.2
  // concurrency: s0 = 0.5 + 0.8 = 1.3; s1 = 0.5 + 1.0 = 1.5;
  //              s2 = 0.5 + 0.1 = 0.6
  // rps (by actual send second): s0 = 2, s1 = 0, s2 = 1
  std::ifstream in(KPA_FIXTURES_DIR "/driver-small.csv");
  ASSERT_TRUE(in.good());
  auto series = ReadInput(in);
  ASSERT_TRUE(series.ok()) << series.status();
  EXPECT_EQ(series->kind, InputSeries::Kind::kDriverCsv);
  EXPECT_EQ(series->rows, 4);
  ExpectSeries(series->concurrency, {1.3, 1.5, 0.6});
  ExpectSeries(series->rps, {2, 0, 1});
  EXPECT_EQ(SeriesFor(*series, Metric::kRps).values, series->rps);
  EXPECT_TRUE(SeriesFor(*series, Metric::kConcurrency).ready_pods.empty());
}

TEST(ReadInput, AcceptsTheOriginalGoDriverCsv) {
  // Whole-ms latency, no lag: 2000 ms from 5000.0 s -> s0 = 1, s1 = 1.
  auto series = Read(
      "timestamp_ms,rps,spin_ms,seq,latency_ms,status\n"
      "5000000,1,100,1,2000,success\n");
  ASSERT_TRUE(series.ok()) << series.status();
  ExpectSeries(series->concurrency, {1, 1});
  ExpectSeries(series->rps, {1, 0});
}

TEST(ReadInput, LongRequestFillsWholeSeconds) {
  // Sent at 1000.5 s, in flight 3.5 s -> 1000.5..1004.0:
  // s0 = 0.5, s1 = s2 = s3 = 1; ends on a second boundary, so no s4.
  // A second request 1001.25..1001.5 adds 0.25 to s1.
  auto series = Read(
      "timestamp_ms,status,latency_us\n"
      "1000500,success,3500000\n"
      "1001250,failure,250000\n");
  ASSERT_TRUE(series.ok()) << series.status();
  ExpectSeries(series->concurrency, {0.5, 1.25, 1, 1});
  ExpectSeries(series->rps, {1, 1, 0, 0});
}

TEST(ReadInput, RejectsAbsurdTimes) {
  EXPECT_EQ(Read("timestamp_ms,status,latency_us\n"
                 "99999999999999999,success,1\n")
                .status()
                .message(),
            "line 2: bad timestamp_ms \"99999999999999999\"");
  EXPECT_FALSE(Read("timestamp_ms,status,latency_us\n"
                    "1000,success,9000000000000000000\n")
                   .ok());
  EXPECT_FALSE(Read("time_s,value\n0,1\n1e300,1\n").ok());
}

TEST(ReadInput, PlainSeriesWithReadyPods) {
  // Origin floor(10.5) = 10. Seconds 10 and 10.5 average to 3; 11 missing
  // -> 0; 12 -> 6. ready_pods carries forward: 1, 1, 4.
  auto series = Read(
      "time_s,value,ready_pods\n"
      "10,2,1\n"
      "10.5,4,\n"
      "12,6,4\n");
  ASSERT_TRUE(series.ok()) << series.status();
  EXPECT_EQ(series->kind, InputSeries::Kind::kPlainCsv);
  ExpectSeries(series->values, {3, 0, 6});
  EXPECT_EQ(series->ready_pods, (std::vector<int32_t>{1, 1, 4}));
  const MetricSeries m = SeriesFor(*series, Metric::kRps);
  EXPECT_EQ(m.values, series->values);
  EXPECT_EQ(m.ready_pods, series->ready_pods);
}

TEST(ReadInput, PlainSeriesWithoutReadyPods) {
  auto series = Read("time_s,value\r\n0,1.5\r\n1,2.5\r\n");
  ASSERT_TRUE(series.ok()) << series.status();
  ExpectSeries(series->values, {1.5, 2.5});
  EXPECT_TRUE(series->ready_pods.empty());
}

TEST(ReadInput, ErrorsNameTheProblem) {
  EXPECT_EQ(Read("").status().message(), "input is empty");
  EXPECT_NE(Read("a,b\n1,2\n").status().message().find("unrecognised header"),
            std::string::npos);
  EXPECT_EQ(Read("time_s,value\n").status().message(),
            "input has a header but no rows");
  EXPECT_EQ(Read("time_s,value\n0,1\n1,x\n").status().message(),
            "line 3: bad value \"x\"");
  EXPECT_EQ(Read("time_s,value\n0,1,2\n").status().message(),
            "line 2: 3 fields, header has 2");
  EXPECT_EQ(Read("timestamp_ms,status,latency_us\n1000,success,-5\n")
                .status()
                .message(),
            "line 2: bad latency_us \"-5\"");
  EXPECT_EQ(
      Read("timestamp_ms,status,latency_us\n1000,maybe,5\n").status().message(),
      "line 2: bad status \"maybe\"");
}

}  // namespace
}  // namespace knbench::autoscaler_model
