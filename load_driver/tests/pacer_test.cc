#include "knbench/load_driver/pacer.h"

#include <vector>

#include "gtest/gtest.h"
#include "knbench/testing/fake_clock.h"

namespace knbench::load_driver {
namespace {

using ::knbench::testing::FakeClock;

struct Sent {
  Arrival arrival;
  absl::Time intended;
  absl::Time actual;
};

// Records sends; may take fake time per send (a slow send) and report a
// fixed number of calls in flight.
class FakeSender : public Sender {
 public:
  explicit FakeSender(FakeClock* clock) : clock_(clock) {}
  int64_t inflight() const override { return inflight_; }
  void Send(const Arrival& a, absl::Time intended, absl::Time actual) override {
    sent.push_back({a, intended, actual});
    clock_->Advance(cost);
  }
  std::vector<Sent> sent;
  absl::Duration cost;
  int64_t inflight_ = 0;

 private:
  FakeClock* clock_;
};

class VectorSink : public RowSink {
 public:
  void Record(Row&& row) override { rows.push_back(std::move(row)); }
  std::vector<Row> rows;
};

class CountingObserver : public PacerObserver {
 public:
  void OnScheduled(const Arrival&, absl::Duration lag, bool dropped) override {
    ++scheduled;
    dropped_seen += dropped;
    max_lag = std::max(max_lag, lag);
  }
  int64_t scheduled = 0;
  int64_t dropped_seen = 0;
  absl::Duration max_lag;
};

// A pacer over `spec` with a fake clock, sender, sink and observer.
struct Rig {
  explicit Rig(absl::string_view spec, PacerOptions options = PacerOptions{},
               absl::Duration warmup = absl::ZeroDuration())
      : schedule(*Schedule::Parse(spec)),
        gen(schedule, Arrivals::kUniform, 1, warmup),
        sender(&clock),
        pacer(&clock, &gen, &sender, &sink, &obs, options),
        start(clock.Now()) {}
  PacerResult Run(const std::function<bool()>& stop = [] { return false; }) {
    return pacer.Run(start, stop);
  }

  FakeClock clock;
  Schedule schedule;
  ArrivalGenerator gen;
  FakeSender sender;
  VectorSink sink;
  CountingObserver obs;
  Pacer pacer;
  absl::Time start;
};

TEST(PacerTest, ReleasesEachRequestAtItsIntendedTime) {
  Rig rig("1000@5s");
  const PacerResult r = rig.Run();
  const absl::Time start = rig.start;
  auto& sender = rig.sender;
  auto& obs = rig.obs;
  auto& sink = rig.sink;
  auto& pacer = rig.pacer;
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.scheduled, 5000);
  EXPECT_EQ(r.sent, 5000);
  EXPECT_EQ(r.dropped, 0);
  EXPECT_EQ(obs.scheduled, 5000);
  EXPECT_EQ(obs.max_lag, absl::ZeroDuration());
  ASSERT_EQ(sender.sent.size(), 5000u);
  for (size_t i = 0; i < sender.sent.size(); ++i) {
    const Sent& x = sender.sent[i];
    ASSERT_EQ(x.arrival.seq, static_cast<int64_t>(i + 1));
    ASSERT_EQ(x.intended, start + absl::Milliseconds(static_cast<int64_t>(i)));
    ASSERT_EQ(x.actual, x.intended);
  }
  EXPECT_TRUE(sink.rows.empty());
  EXPECT_DOUBLE_EQ(pacer.current_rps(), 1000);
}

// At 20 000 RPS (one request every 50 us) a 100 us quantum wakes the
// pacer for every other request: each wake sends the requests due by then,
// none early, none more than a quantum late; at 1 000 RPS it changes
// nothing.
TEST(PacerTest, QuantumBatchesRequestsDueWithinIt) {
  PacerOptions options;
  options.quantum = absl::Microseconds(100);
  Rig fast("20000@1s", options);
  const PacerResult r = fast.Run();
  EXPECT_EQ(r.sent, 20000);
  ASSERT_EQ(fast.sender.sent.size(), 20000u);
  absl::Duration max_lag;
  for (const Sent& x : fast.sender.sent) {
    ASSERT_GE(x.actual, x.intended) << x.arrival.seq;  // never early
    max_lag = std::max(max_lag, x.actual - x.intended);
  }
  EXPECT_LE(max_lag, absl::Microseconds(100));
  EXPECT_GT(max_lag, absl::ZeroDuration());
  EXPECT_LE(fast.clock.sleeps(), 10001);
  EXPECT_GE(fast.clock.sleeps(), 9999);
  EXPECT_EQ(fast.obs.max_lag, max_lag);

  Rig slow("1000@1s", options);
  slow.Run();
  EXPECT_EQ(slow.obs.max_lag, absl::ZeroDuration());
  EXPECT_EQ(slow.clock.sleeps(), 999);  // the first is due at once
}

TEST(PacerTest, WhenLateSendsAtOnceRecordsLagAndSkipsNothing) {
  Rig rig("1000@1s");
  rig.sender.cost = absl::Microseconds(1500);  // slower than the 1 ms interval
  const PacerResult r = rig.Run();
  const absl::Time start = rig.start;
  auto& sender = rig.sender;
  auto& obs = rig.obs;
  EXPECT_EQ(r.sent, 1000);
  ASSERT_EQ(sender.sent.size(), 1000u);
  for (size_t i = 0; i < sender.sent.size(); ++i) {
    const Sent& x = sender.sent[i];
    ASSERT_EQ(x.arrival.seq, static_cast<int64_t>(i + 1));
    // Back to back: each send starts when the previous one returned.
    ASSERT_EQ(x.actual,
              start + absl::Microseconds(1500) * static_cast<int64_t>(i));
    ASSERT_EQ(x.actual - x.intended,
              absl::Microseconds(500) * static_cast<int64_t>(i));
  }
  EXPECT_EQ(obs.max_lag, absl::Microseconds(500 * 999));
}

TEST(PacerTest, AtMaxInflightDueRequestsAreRecordedAsDropped) {
  PacerOptions opts;
  opts.max_inflight = 3;
  opts.spin_ms = 77;
  Rig rig("100@1s", opts, absl::Milliseconds(500));
  rig.sender.inflight_ = 3;
  const PacerResult r = rig.Run();
  const absl::Time start = rig.start;
  auto& obs = rig.obs;
  auto& sink = rig.sink;
  EXPECT_EQ(r.scheduled, 100);
  EXPECT_EQ(r.dropped, 100);
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(obs.dropped_seen, 100);
  ASSERT_EQ(sink.rows.size(), 100u);
  for (size_t i = 0; i < sink.rows.size(); ++i) {
    const Row& row = sink.rows[i];
    EXPECT_EQ(row.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(row.status, RowStatus::kDropped);
    EXPECT_EQ(row.spin_ms, 77);
    EXPECT_EQ(row.intended_unix_ns,
              absl::ToUnixNanos(
                  start + absl::Milliseconds(10 * static_cast<int64_t>(i))));
    EXPECT_EQ(row.warmup, i < 50);
    EXPECT_EQ(row.grpc_code, -1);
  }
}

TEST(PacerTest, StopEndsSchedulingAndLeavesFutureRequestsUnscheduled) {
  Rig rig("10@100s");
  const absl::Time start = rig.start;
  auto& clock = rig.clock;
  // A "signal" 2.55 s in: polled while sleeping towards the next request.
  const PacerResult r =
      rig.Run([&] { return clock.Now() >= start + absl::Milliseconds(2550); });
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.sent, 26);  // 0, 0.1, ... 2.5 s
  EXPECT_EQ(r.scheduled, 26);
  EXPECT_LE(r.end - start, absl::Milliseconds(2600));
}

TEST(PacerTest, LongGapsAreSleptInBoundedSlices) {
  PacerOptions opts;
  opts.max_sleep = absl::Milliseconds(100);
  Rig rig("1@3s", opts);
  rig.Run();
  EXPECT_EQ(rig.sender.sent.size(), 3u);
  EXPECT_EQ(rig.clock.sleeps(), 20);  // 2 gaps of 1 s in 100 ms slices
}

}  // namespace
}  // namespace knbench::load_driver
