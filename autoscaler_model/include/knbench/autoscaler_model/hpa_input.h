// The HPA replay's input: the pods' metric samples as CSV, one row per pod
// per sample. Read by the replay; a live HPA writes it with
// FormatHpaSample (local serving's --stats-out, live_hpa.h), so that the
// same samples give the same decisions.
//
// Columns (by name; others are ignored):
//   time_s          the sample's time in seconds (the metrics' timestamp);
//                   rows in non-decreasing order, one sample per value
//   pod             the pod's name
//   cpu_millicores  metrics-server's CPU for the pod, a whole number of
//                   millicores; empty: no metric
//   ready           1 when the pod's Ready condition is true, else 0
// Optional:
//   memory_bytes    working set in bytes; empty: no metric (required for
//                   the memory metric)
//   start_s         the pod's start time (status.startTime); empty: not
//                   started yet (phase Pending)
//   ready_since_s   when the Ready condition last changed; empty: derived
// A pod absent from a sample between its first and last rows is a pod with
// no metric at that sample, in the state of its previous row. Without
// start_s a pod starts at its first row, except the pods of the first
// sample, which started one CPU initialization period earlier (the HPA
// finds them initialized). Without ready_since_s the condition changed
// at the first sample that shows the pod's current ready value (at its
// start for the first one).
#ifndef KNBENCH_AUTOSCALER_MODEL_HPA_INPUT_H_
#define KNBENCH_AUTOSCALER_MODEL_HPA_INPUT_H_

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/hpa_config.h"
#include "knbench/autoscaler_model/hpa_replicas.h"

namespace knbench::autoscaler_model {

struct HpaInput {
  std::vector<HpaSample> samples;  // in time order, every pod resolved
  int64_t rows = 0;                // data rows read
};

// Errors are one line naming the line and field, e.g.
// "line 7: bad cpu_millicores \"x\"". Uses the metric MakeHpaSpec(config)
// scales on and config's CPU initialization period (for the defaults
// above). At most kMaxPodCount pods per sample and a week of samples.
absl::StatusOr<HpaInput> ReadHpaSamples(std::istream& in,
                                        const HpaConfig& config);

// The input as local serving writes it: kHpaSamplesCsvHeader ("time_s,pod,
// cpu_millicores,ready,memory_bytes,start_s,ready_since_s"), then
// FormatHpaSample's lines for each sample. Reading them back gives the
// same samples.
extern const char kHpaSamplesCsvHeader[];
std::string FormatHpaSample(const HpaSample& sample);

// Seconds with up to millisecond precision and no trailing zeros ("15",
// "15.5", "-0.25"): how time_s and the other times are written.
std::string FormatHpaSeconds(absl::Duration d);

}  // namespace knbench::autoscaler_model

#endif  // KNBENCH_AUTOSCALER_MODEL_HPA_INPUT_H_
