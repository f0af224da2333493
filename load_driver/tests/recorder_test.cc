#include "knbench/load_driver/recorder.h"

#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench::load_driver {
namespace {

using ::testing::HasSubstr;

class CountingConsumer : public RowConsumer {
 public:
  void Consume(const Row& row) override {
    ++rows;
    last_seq = row.seq;
  }
  int64_t rows = 0;
  int64_t last_seq = 0;
};

std::string TempPath() {
  char name[] = "/tmp/knbench_csv_XXXXXX";
  const int fd = mkstemp(name);
  close(fd);
  return name;
}

Row SuccessRow(int64_t seq) {
  Row r;
  r.seq = seq;
  r.intended_unix_ns = 1700000000123456789;
  r.rps = 1000;
  r.spin_ms = 100;
  r.status = RowStatus::kSuccess;
  r.latency_us = 101234;
  r.intended_latency_us = 101300;
  r.lag_us = 66;
  r.grpc_code = 0;
  r.pod = "worker-00001-deployment-abc";
  r.server_spin_us = 100002;
  r.phase = 2;
  r.warmup = true;
  return r;
}

TEST(CsvTest, RowsFormatExactly) {
  std::string out;
  AppendCsvRow(SuccessRow(7), &out);
  EXPECT_EQ(out,
            "1700000000123,1000,100,7,101,success,101234,101300,66,OK,"
            "worker-00001-deployment-abc,100002,,,2,1\n");
  Row f = SuccessRow(8);
  f.status = RowStatus::kFailure;
  f.grpc_code = 14;
  f.pod.clear();
  f.warmup = false;
  f.rps = 12.5;
  out.clear();
  AppendCsvRow(f, &out);
  EXPECT_EQ(out,
            "1700000000123,12.5,100,8,101,failure,101234,101300,66,"
            "UNAVAILABLE,,,,,2,0\n");
  Row d = SuccessRow(9);
  d.status = RowStatus::kDropped;
  d.grpc_code = -1;
  d.pod.clear();
  out.clear();
  AppendCsvRow(d, &out);
  EXPECT_EQ(out, "1700000000123,1000,100,9,,dropped,,,66,,,,,,2,1\n");
  // The router's waits, where it reported them, beside the spin.
  Row w = SuccessRow(11);
  w.waits = {1500, 0};
  out.clear();
  AppendCsvRow(w, &out);
  EXPECT_EQ(out,
            "1700000000123,1000,100,11,101,success,101234,101300,66,OK,"
            "worker-00001-deployment-abc,100002,1500,0,2,1\n");
  w.status = RowStatus::kFailure;
  w.grpc_code = 14;
  w.pod.clear();
  w.waits.queue_us = -1;
  out.clear();
  AppendCsvRow(w, &out);
  EXPECT_EQ(out,
            "1700000000123,1000,100,11,101,failure,101234,101300,66,"
            "UNAVAILABLE,,,1500,,2,1\n");
  Row q = SuccessRow(10);
  q.pod = "a,\"b\"\nc";
  out.clear();
  AppendCsvRow(q, &out);
  EXPECT_THAT(out, HasSubstr(",\"a,\"\"b\"\" c\","));
}

TEST(RecorderTest, ManyConcurrentProducersNeverTearRows) {
  const std::string path = TempPath();
  auto writer = CsvWriter::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  CountingConsumer consumer;
  Recorder recorder(std::move(*writer), {&consumer});
  recorder.Start();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&recorder, t] {
      for (int i = 0; i < kPerThread; ++i) {
        recorder.Record(
            SuccessRow(static_cast<int64_t>(t) * kPerThread + i + 1));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(recorder.Close().ok());
  EXPECT_EQ(consumer.rows, kThreads * kPerThread);
  EXPECT_EQ(recorder.rows_consumed(), kThreads * kPerThread);

  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, kCsvHeader);
  std::set<int64_t> seqs;
  int64_t lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    std::vector<std::string> f = absl::StrSplit(line, ',');
    ASSERT_EQ(f.size(), 16u) << "torn row: " << line;
    EXPECT_EQ(f[5], "success");
    EXPECT_EQ(f[10], "worker-00001-deployment-abc");
    EXPECT_EQ(f[15], "1");
    seqs.insert(std::stoll(f[3]));
  }
  EXPECT_EQ(lines, kThreads * kPerThread);
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kThreads * kPerThread);
  unlink(path.c_str());
}

TEST(RecorderTest, WriteErrorIsReportedAndCountsStillArrive) {
  auto writer = CsvWriter::Open("/dev/full");
  ASSERT_TRUE(writer.ok()) << writer.status();
  CountingConsumer consumer;
  Recorder recorder(std::move(*writer), {&consumer});
  recorder.Start();
  for (int i = 1; i <= 50000; ++i) recorder.Record(SuccessRow(i));
  const absl::Status st = recorder.Close();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("/dev/full"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("No space left on device"));
  EXPECT_EQ(consumer.rows, 50000);
  EXPECT_EQ(consumer.last_seq, 50000);
}

TEST(RecorderTest, SmallRunIsFlushedOnCloseAndUnwritablePathFails) {
  const std::string path = TempPath();
  {
    auto writer = CsvWriter::Open(path);
    ASSERT_TRUE(writer.ok());
    Recorder recorder(std::move(*writer), {});
    recorder.Start();
    recorder.Record(SuccessRow(1));
    EXPECT_TRUE(recorder.Close().ok());
  }
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 2);
  unlink(path.c_str());
  auto bad = CsvWriter::Open("/nonexistent-dir/results.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("/nonexistent-dir"));
}

}  // namespace
}  // namespace knbench::load_driver
