// The pods' cgroups (knbench::cgroups) as local serving uses them, by pod
// name: made when a pod first starts, joined by each of its processes
// before exec, read for OOM kills and usage, removed once the pod is gone.
// PodManager sees only the PodCgroups interface, so its tests fake it;
// CgroupPods is the real one.
#ifndef KNBENCH_LOCAL_SERVING_POD_CGROUPS_H_
#define KNBENCH_LOCAL_SERVING_POD_CGROUPS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "knbench/cgroups/collector.h"
#include "knbench/cgroups/manager.h"
#include "knbench/cgroups/resources.h"
#include "knbench/cgroups/usage.h"

namespace knbench::local_serving {

class PodCgroups {
 public:
  virtual ~PodCgroups() = default;
  // Makes the pod's cgroup with the pods' resources.
  virtual absl::Status Add(const std::string& pod) = 0;
  // The cgroup.procs files its processes join (ProcessSpec::cgroup_procs);
  // empty where pods run without cgroups.
  virtual std::vector<std::string> ProcsFiles(const std::string& pod) = 0;
  // `pid` is the pod's process from now on.
  virtual void Track(const std::string& pod, pid_t pid) = 0;
  // OOM kills in the pod's cgroup so far (0 where unknown).
  virtual uint64_t OomKills(const std::string& pod) = 0;
  // The pod is gone and its last process reaped: its cgroup goes.
  virtual void Remove(const std::string& pod) = 0;
};

// One pod's cgroup as /state shows it.
struct PodCgroupView {
  std::string id;                 // cAdvisor's id: the path in the hierarchy
  std::vector<std::string> dirs;  // its directories, one per hierarchy
  cgroups::Spec spec;             // the limits read back from its files
};

class CgroupPods : public PodCgroups {
 public:
  struct Options {
    cgroups::Resources resources;  // every pod's, as the manifest gives them
    // enabled = false: no cgroups, usage from /proc.
    cgroups::ManagerOptions manager;
  };
  // Creates the manager, which first removes what dead instances left.
  explicit CgroupPods(Options options);
  ~CgroupPods() override;

  absl::Status Add(const std::string& pod) override;
  std::vector<std::string> ProcsFiles(const std::string& pod) override;
  void Track(const std::string& pod, pid_t pid) override;
  uint64_t OomKills(const std::string& pod) override;
  void Remove(const std::string& pod) override;

  const cgroups::Resources& resources() const { return options_.resources; }
  // Whether the pods' limits are enforced: "v1", "v2", or "none: <why>".
  std::string enforcement() const;
  // One line for the log when limits cannot be enforced, else empty.
  const std::string& warning() const { return manager_->warning(); }

  // The pod's usage now; nothing if it has no cgroup or cannot be read.
  std::optional<cgroups::Usage> Usage(const std::string& pod) const;
  std::map<std::string, PodCgroupView> Views() const;
  // cAdvisor's and kube-state-metrics' series of every pod, read at scrape
  // time. The collectable holds this object: it must outlive the scrapes.
  std::shared_ptr<prometheus::Collectable> Collector(
      cgroups::ContainerLabels labels) const;

  // Removes every cgroup left and the instance's own; pods' processes must
  // have exited. Idempotent.
  void Close();

 private:
  std::shared_ptr<cgroups::PodCgroup> Find(const std::string& pod) const;

  const Options options_;
  const std::unique_ptr<cgroups::Manager> manager_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<cgroups::PodCgroup>> pods_
      ABSL_GUARDED_BY(mu_);
};

// "v1", "v2", or "none: <why>" for a layout (what --check-config reports
// without making anything), or "none: turned off (--pod-cgroups=false)"
// when not `enabled`.
std::string EnforcementText(bool enabled, const cgroups::Layout& layout);

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_POD_CGROUPS_H_
