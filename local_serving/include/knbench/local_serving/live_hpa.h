// The HPA class on the real clock: metrics-server's samples every
// --metric-resolution and the HorizontalPodAutoscaler's syncs every
// --horizontal-pod-autoscaler-sync-period, through the same
// autoscaler_model::HpaController that `kpa_model --class=hpa` replays, so
// that the replay of the samples file (--stats-out) prints the decisions
// file (--decisions-out) byte for byte:
// - sample k is stamped start + k x resolution (whole milliseconds), its
//   pods as observed when it is taken, and written before any sync uses it;
// - the HPA is created at the first sample, over that sample's pods; it
//   syncs at that time and every sync period after it, each with the latest
//   sample; a sample and a sync at the same time: the sample first;
// - a sync's row is written once a sample at or after its time is (the
//   replay syncs up to the last sample), so at exit the file holds exactly
//   the syncs at or before the last sample.
// A sample whose successor is also due already (the thread was held up) is
// skipped, as a scrape metrics-server missed: the written samples and the
// syncs still agree.
//
// Time comes in as arguments, so tests drive it without sleeping; the
// thread that calls Advance on the real clock is HpaLoop's.
#ifndef KNBENCH_LOCAL_SERVING_LIVE_HPA_H_
#define KNBENCH_LOCAL_SERVING_LIVE_HPA_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <vector>

#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_controller.h"
#include "knbench/local_serving/hpa_sampler.h"

namespace knbench::local_serving {

class LiveHpa {
 public:
  using Observe = std::function<std::vector<PodObservation>()>;

  // `config` must pass ValidateHpaConfig. `observe` lists the pods (not
  // terminating) with their usage read now. The streams may be null.
  LiveHpa(const autoscaler_model::HpaConfig& config, absl::Time start,
          Observe observe, std::ostream* stats_out,
          std::ostream* decisions_out);

  // Everything due up to `now`, in order. Returns the syncs made.
  std::vector<autoscaler_model::HpaRow> Advance(absl::Time now);
  // When the next sample or sync is due.
  absl::Time next_due() const;

  // The scale the HPA set last; before its first sync, the pods to start
  // with: min replicas (at least 1: the class never scales to zero).
  int32_t scale() const;
  const autoscaler_model::HpaSpec& spec() const { return spec_; }

 private:
  absl::Time SampleTime(int64_t k) const;
  absl::Time SyncTime(int64_t j) const;
  void Sample(int64_t k, absl::Time now);
  autoscaler_model::HpaRow Sync(int64_t j);
  void WriteSyncsUpTo(absl::Duration sample_time);

  const autoscaler_model::HpaConfig config_;
  const autoscaler_model::HpaSpec spec_;
  const absl::Time start_;
  const Observe observe_;
  std::ostream* const stats_out_;
  std::ostream* const decisions_out_;
  HpaSampler sampler_;
  int64_t next_sample_ = 0;
  int64_t next_sync_ = 0;
  std::optional<absl::Time> first_sample_;  // the HPA's creation
  std::optional<autoscaler_model::HpaController> hpa_;
  autoscaler_model::HpaSample latest_;
  // Syncs made after the last written sample, written once a sample
  // reaches them.
  std::vector<autoscaler_model::HpaRow> unwritten_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_LIVE_HPA_H_
