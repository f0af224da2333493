// What the queue-proxies and the activator report to Knative's autoscaler,
// measured where every call passes: per second, the time-averaged number of
// requests in the system (buffered in the activator, queued at a pod, or in
// flight at a worker) and the number that arrived.
#ifndef KNBENCH_LOCAL_SERVING_SECOND_STATS_H_
#define KNBENCH_LOCAL_SERVING_SECOND_STATS_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace knbench::local_serving {

class SecondStats {
 public:
  // Second s is [start + s, start + s + 1).
  explicit SecondStats(absl::Time start) : last_(start), open_start_(start) {}

  struct Second {
    int64_t second = 0;
    double concurrency = 0;  // mean requests in the system
    int64_t arrivals = 0;
    // A request was in the system at some point of the second: what makes
    // the autoscaler's metric for that second non-zero.
    bool active = false;
  };

  // A request entered / left the system. Times may lag a little behind
  // other threads' calls; each is clamped to the last time seen.
  void Arrive(absl::Time now);
  void Depart(absl::Time now);

  // The seconds that ended by `now`, oldest first, each returned once.
  std::vector<Second> TakeEnded(absl::Time now);
  // The second containing `now` so far (concurrency not yet known).
  Second Open(absl::Time now);

  int64_t in_system() const;

 private:
  void AdvanceTo(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::Time last_ ABSL_GUARDED_BY(mu_);  // never before open_start_
  absl::Time open_start_ ABSL_GUARDED_BY(mu_);
  int64_t open_second_ ABSL_GUARDED_BY(mu_) = 0;
  double area_ ABSL_GUARDED_BY(mu_) = 0;  // request-seconds this second
  int64_t arrivals_ ABSL_GUARDED_BY(mu_) = 0;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  int64_t in_system_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Second> ended_ ABSL_GUARDED_BY(mu_);
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_SECOND_STATS_H_
