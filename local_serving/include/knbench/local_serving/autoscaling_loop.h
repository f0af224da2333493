// Local serving's autoscaler: the KPA's loop (kpa_loop.h) or the HPA's
// (hpa_loop.h), behind one interface, each on a thread of its own driven
// by the injected clock (TimedLoop).
#ifndef KNBENCH_LOCAL_SERVING_AUTOSCALING_LOOP_H_
#define KNBENCH_LOCAL_SERVING_AUTOSCALING_LOOP_H_

#include <cstdint>
#include <ostream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "knbench/common/clock.h"
#include "knbench/local_serving/pod_manager.h"
#include "knbench/local_serving/router.h"
#include "knbench/local_serving/serving_metrics.h"

namespace knbench::local_serving {

// What a loop drives and reads; everything outlives the loop.
struct LoopContext {
  Clock* clock = nullptr;
  absl::Time start;  // second 0 of the recorded series
  Router* router = nullptr;
  PodManager* pods = nullptr;
  ServingMetrics* metrics = nullptr;
  std::ostream* stats_out = nullptr;  // null: not recorded
  std::ostream* decisions_out = nullptr;
};

class AutoscalingLoop {
 public:
  virtual ~AutoscalingLoop() = default;
  // Sets the pods' first scale and the activator, then decides until Stop.
  virtual void Start() = 0;
  // Stops deciding; the files then replay exactly. Idempotent.
  virtual void Stop() = 0;
  // The pods' counts changed (called from the pod manager's thread).
  virtual void OnPods(const PodCounts& /*counts*/) {}
  // The ready pods it keeps with no load (/state's idle_pods).
  virtual int32_t idle_pods() const = 0;
};

// A loop's thread: runs Step whenever the clock reaches Deadline() or the
// loop is poked, until Stop.
class TimedLoop : public AutoscalingLoop {
 public:
  void Stop() final;

 protected:
  explicit TimedLoop(Clock* clock) : clock_(clock) {}
  ~TimedLoop() override;
  void StartThread();
  // Wakes the thread at once (from any thread).
  void Poke();
  // Stop was called: the loop must not act any more.
  bool stopped();
  virtual absl::Time Deadline() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  virtual void Step(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;

  absl::Mutex mu_;

 private:
  void Run();

  Clock* const clock_;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_AUTOSCALING_LOOP_H_
