#include "knbench/local_serving/pod_cgroups.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/log.h"

namespace knbench::local_serving {
namespace {

constexpr char kTurnedOff[] = "none: turned off (--pod-cgroups=false)";

}  // namespace

std::string EnforcementText(bool enabled, const cgroups::Layout& layout) {
  if (!enabled) return kTurnedOff;
  if (layout.version == cgroups::Version::kNone) {
    return absl::StrCat("none: ", layout.reason);
  }
  return cgroups::VersionName(layout.version);
}

CgroupPods::CgroupPods(Options options)
    : options_(std::move(options)),
      manager_(cgroups::Manager::Create(options_.manager)) {}

CgroupPods::~CgroupPods() { Close(); }

std::string CgroupPods::enforcement() const {
  if (!options_.manager.enabled) return kTurnedOff;
  if (manager_->version() == cgroups::Version::kNone) {
    return absl::StrCat("none: ", manager_->warning());
  }
  return cgroups::VersionName(manager_->version());
}

absl::Status CgroupPods::Add(const std::string& pod) {
  absl::StatusOr<std::shared_ptr<cgroups::PodCgroup>> made =
      manager_->AddPod(pod, options_.resources);
  if (!made.ok()) return made.status();
  absl::MutexLock lock(&mu_);
  pods_[pod] = *std::move(made);
  return absl::OkStatus();
}

std::shared_ptr<cgroups::PodCgroup> CgroupPods::Find(
    const std::string& pod) const {
  absl::MutexLock lock(&mu_);
  const auto it = pods_.find(pod);
  return it == pods_.end() ? nullptr : it->second;
}

std::vector<std::string> CgroupPods::ProcsFiles(const std::string& pod) {
  const auto cgroup = Find(pod);
  return cgroup == nullptr ? std::vector<std::string>{} : cgroup->procs_files();
}

void CgroupPods::Track(const std::string& pod, pid_t pid) {
  if (const auto cgroup = Find(pod)) cgroup->Track(pid);
}

uint64_t CgroupPods::OomKills(const std::string& pod) {
  const std::optional<cgroups::Usage> usage = Usage(pod);
  return usage.has_value() ? usage->oom_kills : 0;
}

std::optional<cgroups::Usage> CgroupPods::Usage(const std::string& pod) const {
  const auto cgroup = Find(pod);
  if (cgroup == nullptr) return std::nullopt;
  absl::StatusOr<cgroups::Usage> usage = cgroup->ReadUsage();
  if (!usage.ok()) return std::nullopt;
  return *usage;
}

void CgroupPods::Remove(const std::string& pod) {
  std::shared_ptr<cgroups::PodCgroup> cgroup;
  {
    absl::MutexLock lock(&mu_);
    const auto it = pods_.find(pod);
    if (it == pods_.end()) return;
    cgroup = std::move(it->second);
    pods_.erase(it);
  }
  // Still there (Close tries again), which the log says.
  if (absl::Status st = cgroup->Remove(); !st.ok()) {
    Logf("warning: pod %s's cgroup: %s", pod, st.message());
  }
}

std::map<std::string, PodCgroupView> CgroupPods::Views() const {
  std::map<std::string, std::shared_ptr<cgroups::PodCgroup>> pods;
  {
    absl::MutexLock lock(&mu_);
    pods = pods_;
  }
  std::map<std::string, PodCgroupView> views;
  for (const auto& [name, cgroup] : pods) {
    PodCgroupView& view = views[name];
    view.id = cgroup->id();
    for (const std::string& file : cgroup->procs_files()) {
      view.dirs.push_back(file.substr(0, file.rfind('/')));
    }
    view.spec = cgroup->ReadSpec().value_or(cgroups::Spec());
  }
  return views;
}

std::shared_ptr<prometheus::Collectable> CgroupPods::Collector(
    cgroups::ContainerLabels labels) const {
  return std::make_shared<cgroups::ResourceCollector>(
      std::move(labels), [this] {
        absl::MutexLock lock(&mu_);
        std::vector<std::shared_ptr<const cgroups::PodCgroup>> out;
        for (const auto& [name, cgroup] : pods_) out.push_back(cgroup);
        return out;
      });
}

void CgroupPods::Close() {
  {
    absl::MutexLock lock(&mu_);
    pods_.clear();
  }
  if (absl::Status st = manager_->Close(); !st.ok()) {
    Logf("warning: pods' cgroups: %s", st.message());
  }
}

}  // namespace knbench::local_serving
