#include "knbench/local_serving/live_hpa.h"

#include <algorithm>
#include <utility>

#include "knbench/autoscaler_model/hpa_input.h"

namespace knbench::local_serving {

namespace am = autoscaler_model;

LiveHpa::LiveHpa(const am::HpaConfig& config, absl::Time start, Observe observe,
                 std::ostream* stats_out, std::ostream* decisions_out)
    : config_(config),
      spec_(am::MakeHpaSpec(config)),
      start_(start),
      observe_(std::move(observe)),
      stats_out_(stats_out),
      decisions_out_(decisions_out),
      sampler_(start) {
  if (stats_out_ != nullptr) *stats_out_ << am::kHpaSamplesCsvHeader;
  if (decisions_out_ != nullptr) {
    *decisions_out_ << am::kHpaDecisionsCsvHeader << std::flush;
  }
}

absl::Time LiveHpa::SampleTime(int64_t k) const {
  return start_ + k * config_.metric_resolution;
}

absl::Time LiveHpa::SyncTime(int64_t j) const {
  return *first_sample_ + j * config_.sync_period;
}

absl::Time LiveHpa::next_due() const {
  const absl::Time sample = SampleTime(next_sample_);
  return first_sample_ ? std::min(sample, SyncTime(next_sync_)) : sample;
}

int32_t LiveHpa::scale() const {
  return hpa_ ? hpa_->scale() : spec_.min_replicas;
}

std::vector<am::HpaRow> LiveHpa::Advance(absl::Time now) {
  std::vector<am::HpaRow> rows;
  while (true) {
    const absl::Time sample = SampleTime(next_sample_);
    const std::optional<absl::Time> sync =
        first_sample_ ? std::optional(SyncTime(next_sync_)) : std::nullopt;
    if (sample <= now && (!sync || sample <= *sync)) {
      // Of several due, the last is taken: the others are missed scrapes.
      if (SampleTime(next_sample_ + 1) > now) Sample(next_sample_, now);
      ++next_sample_;
    } else if (sync && *sync <= now) {
      rows.push_back(Sync(next_sync_++));
    } else {
      return rows;
    }
  }
}

void LiveHpa::Sample(int64_t k, absl::Time now) {
  const absl::Duration time = SampleTime(k) - start_;
  latest_ = sampler_.Take(time, now, observe_());
  if (stats_out_ != nullptr) {
    *stats_out_ << am::FormatHpaSample(latest_) << std::flush;
  }
  if (!first_sample_) {
    // Created now, over this sample's pods: the replay's first replicas.
    // (Never none: the pods of a scale of at least 1 are listed from the
    // moment it is set.)
    first_sample_ = SampleTime(k);
    hpa_.emplace(config_, static_cast<int32_t>(latest_.pods.size()));
  }
  WriteSyncsUpTo(time);
}

am::HpaRow LiveHpa::Sync(int64_t j) {
  const am::HpaRow row = hpa_->Sync(SyncTime(j) - start_, latest_);
  unwritten_.push_back(row);
  WriteSyncsUpTo(latest_.time);
  return row;
}

void LiveHpa::WriteSyncsUpTo(absl::Duration sample_time) {
  size_t n = 0;
  while (n < unwritten_.size() && unwritten_[n].time <= sample_time) {
    if (decisions_out_ != nullptr) {
      *decisions_out_ << am::FormatHpaRow(unwritten_[n]) << std::flush;
    }
    ++n;
  }
  unwritten_.erase(unwritten_.begin(), unwritten_.begin() + n);
}

}  // namespace knbench::local_serving
