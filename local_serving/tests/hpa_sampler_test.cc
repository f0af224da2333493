// metrics-server's part of the live HPA: CPU as the rate of each pod's
// cumulative CPU time between its last two samples, whole millicores
// rounded up; nothing for a pod's first sample, for a new process or while
// none runs; times in whole milliseconds from the series' start.
#include "knbench/local_serving/hpa_sampler.h"

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

const absl::Time kOrigin = absl::FromUnixSeconds(7000);

PodObservation Running(const std::string& name, pid_t pid, double cpu_seconds,
                       double memory_bytes) {
  PodObservation o;
  o.name = name;
  o.started = true;
  o.start = kOrigin + absl::Microseconds(1'002'700);  // 1.0027 s
  o.ready = true;
  o.ready_since = kOrigin + absl::Milliseconds(1500);
  o.pid = pid;
  cgroups::Usage usage;
  usage.cpu_seconds = cpu_seconds;
  usage.memory_working_set_bytes = memory_bytes;
  o.usage = usage;
  return o;
}

TEST(HpaSampler, CpuIsTheRateBetweenSamplesRoundedUpFromTheSecond) {
  HpaSampler sampler(kOrigin);
  auto first = sampler.Take(absl::Seconds(2), kOrigin + absl::Seconds(2),
                            {Running("a", 10, 1.0, 5e6)});
  ASSERT_EQ(first.pods.size(), 1u);
  EXPECT_EQ(first.time, absl::Seconds(2));
  EXPECT_FALSE(first.pods[0].cpu_millicores.has_value());
  EXPECT_FALSE(first.pods[0].memory_bytes.has_value());
  // Times truncated to whole milliseconds, as the file holds them.
  EXPECT_EQ(first.pods[0].start, absl::Milliseconds(1002));
  EXPECT_EQ(first.pods[0].ready_since, absl::Milliseconds(1500));
  EXPECT_TRUE(first.pods[0].ready);

  // 0.8125 CPU-seconds over 2 s read 2 s apart: 406.25 m -> 407.
  auto second = sampler.Take(absl::Seconds(4), kOrigin + absl::Seconds(4),
                             {Running("a", 10, 1.8125, 6e6)});
  EXPECT_EQ(second.pods[0].cpu_millicores, 407);
  EXPECT_EQ(second.pods[0].memory_bytes, 6'000'000);
  // The denominator is the time between the readings, not the stamps.
  auto late = sampler.Take(absl::Seconds(6), kOrigin + absl::Seconds(8),
                           {Running("a", 10, 3.8125, 6e6)});
  EXPECT_EQ(late.pods[0].cpu_millicores, 500);
}

TEST(HpaSampler, NoMetricForANewProcessAPendingPodOrACounterGoingBack) {
  HpaSampler sampler(kOrigin);
  PodObservation pending;
  pending.name = "p";
  sampler.Take(absl::Seconds(2), kOrigin + absl::Seconds(2),
               {Running("a", 10, 1.0, 1), Running("b", 20, 1.0, 1), pending});
  auto s = sampler.Take(
      absl::Seconds(4), kOrigin + absl::Seconds(4),
      {Running("a", 11, 2.0, 1), Running("b", 20, 0.5, 1), pending});
  EXPECT_FALSE(s.pods[0].cpu_millicores.has_value());  // restarted: pid 11
  EXPECT_FALSE(s.pods[1].cpu_millicores.has_value());  // counter went back
  EXPECT_FALSE(s.pods[2].start.has_value());           // not started
  EXPECT_FALSE(s.pods[2].ready);
  EXPECT_EQ(s.pods[2].ready_since, absl::Seconds(4));
  // Each is a new series from there.
  s = sampler.Take(absl::Seconds(6), kOrigin + absl::Seconds(6),
                   {Running("a", 11, 2.5, 1), Running("b", 20, 0.7, 1)});
  EXPECT_EQ(s.pods[0].cpu_millicores, 250);
  EXPECT_EQ(s.pods[1].cpu_millicores, 100);
}

}  // namespace
}  // namespace knbench::local_serving
