#include "knbench/cgroups/manager.h"

#include <string.h>
#include <unistd.h>

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "backend.h"
#include "instances.h"
#include "knbench/common/proc_stat.h"

namespace knbench::cgroups {

// What a manager and its pods share: pods may outlive the manager's last
// call (a scrape in flight), so they hold it too.
struct Instance {
  Version version = Version::kNone;
  std::unique_ptr<Backend> backend;
  DirOps dirs;
  ControllerDirs own;     // this process's cgroups
  ControllerDirs dir;     // own/<instance name>; empty without cgroups
  std::string id_prefix;  // cAdvisor's id of `dir`
  absl::Duration empty_timeout;
  absl::Mutex mu;
  std::set<std::string> pods ABSL_GUARDED_BY(mu);  // made, not yet removed
  bool closed ABSL_GUARDED_BY(mu) = false;
};

namespace {

// Makes `dirs`, or none of them.
absl::Status MakeAll(const std::vector<std::string>& dirs, const DirOps& ops) {
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (const int err = ops.make(dirs[i]); err != 0) {
      for (size_t j = 0; j < i; ++j) ops.remove(dirs[j]);
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dirs[i], ": ", strerror(err)));
    }
  }
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::vector<std::string>& dirs, const DirOps& ops,
                       absl::Duration timeout) {
  absl::Status first;
  for (const std::string& dir : dirs) {
    absl::Status status = RemoveWhenEmpty(dir, ops, timeout);
    if (first.ok()) first = status;
  }
  return first;
}

std::shared_ptr<Instance> Unlimited(const ManagerOptions& options) {
  auto instance = std::make_shared<Instance>();
  instance->backend = MakeProcBackend(options.proc_root);
  instance->dirs = options.dirs;
  instance->empty_timeout = options.empty_timeout;
  return instance;
}

// Makes the instance's directories under `layout.own`; fails if any step
// fails, leaving nothing behind.
absl::Status Establish(const Layout& layout, const ManagerOptions& options,
                       Instance& instance) {
  const std::optional<ProcStat> self = ReadProcStat("/proc/self");
  if (!self) return absl::InternalError("cannot read /proc/self/stat");
  const std::string name =
      InstanceName(options.prefix, {getpid(), self->start_ticks});
  instance.version = layout.version;
  instance.backend =
      layout.version == Version::kV1 ? MakeV1Backend() : MakeV2Backend();
  instance.own = layout.own;
  instance.dir = layout.own.Child(name);
  instance.id_prefix = absl::StrCat(
      layout.own_cpu_path == "/" ? "" : layout.own_cpu_path, "/", name);
  const std::vector<std::string> dirs = instance.dir.Distinct();
  absl::Status status = MakeAll(dirs, options.dirs);
  if (!status.ok()) return status;
  status = instance.backend->PrepareInstance(instance.own, instance.dir,
                                             options.dirs);
  if (!status.ok()) {
    (void)RemoveAll(dirs, options.dirs, options.empty_timeout);
  }
  return status;
}

}  // namespace

PodCgroup::PodCgroup(std::shared_ptr<Instance> instance, std::string name,
                     Resources resources, ControllerDirs dirs, std::string id)
    : instance_(std::move(instance)),
      name_(std::move(name)),
      resources_(std::move(resources)),
      dirs_(std::move(dirs)),
      id_(std::move(id)) {
  if (instance_->version != Version::kNone) {
    for (const std::string& dir : dirs_.Distinct()) {
      procs_files_.push_back(dir + "/cgroup.procs");
    }
  }
}

absl::StatusOr<Usage> PodCgroup::ReadUsage() const {
  return instance_->backend->ReadUsage(dirs_, pid_.load());
}

absl::StatusOr<Spec> PodCgroup::ReadSpec() const {
  return instance_->backend->ReadSpec(dirs_);
}

absl::Status PodCgroup::Remove() {
  {
    absl::MutexLock lock(&instance_->mu);
    if (instance_->pods.erase(name_) == 0) return absl::OkStatus();
  }
  if (instance_->version == Version::kNone) return absl::OkStatus();
  absl::Status status =
      RemoveAll(dirs_.Distinct(), instance_->dirs, instance_->empty_timeout);
  if (!status.ok()) {
    // Still there: Close tries again.
    absl::MutexLock lock(&instance_->mu);
    instance_->pods.insert(name_);
  }
  return status;
}

std::unique_ptr<Manager> Manager::Create(ManagerOptions options) {
  auto make = [&](std::shared_ptr<Instance> instance, std::string why,
                  int removed) {
    std::string warning;
    if (!why.empty()) {
      warning = absl::StrCat(
          "pods run without CPU or memory limits (usage from /proc): ", why);
    }
    return std::unique_ptr<Manager>(
        new Manager(std::move(instance), std::move(warning), removed));
  };
  if (!options.enabled) return make(Unlimited(options), "", 0);
  const Layout layout = DetectLayout(options.files);
  if (layout.version == Version::kNone) {
    return make(Unlimited(options), layout.reason, 0);
  }
  const int removed = RemoveLeftovers(layout.own.Distinct(), options.prefix,
                                      options.proc_root, options.dirs);
  auto instance = std::make_shared<Instance>();
  instance->dirs = options.dirs;
  instance->empty_timeout = options.empty_timeout;
  const absl::Status status = Establish(layout, options, *instance);
  if (!status.ok()) {
    return make(Unlimited(options),
                absl::StrCat("cgroup ", VersionName(layout.version), ": ",
                             status.message()),
                removed);
  }
  return make(std::move(instance), "", removed);
}

Manager::Manager(std::shared_ptr<Instance> instance, std::string warning,
                 int leftovers_removed)
    : instance_(std::move(instance)),
      warning_(std::move(warning)),
      leftovers_removed_(leftovers_removed) {}

Manager::~Manager() { (void)Close(); }

Version Manager::version() const { return instance_->version; }

std::vector<std::string> Manager::instance_dirs() const {
  if (instance_->version == Version::kNone) return {};
  return instance_->dir.Distinct();
}

absl::StatusOr<std::shared_ptr<PodCgroup>> Manager::AddPod(
    const std::string& name, const Resources& resources) {
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a pod name: \"", name, "\""));
  }
  Instance& instance = *instance_;
  {
    absl::MutexLock lock(&instance.mu);
    if (instance.closed) return absl::FailedPreconditionError("closed");
    if (!instance.pods.insert(name).second) {
      return absl::AlreadyExistsError(absl::StrCat("pod ", name, " exists"));
    }
  }
  const bool limited = instance.version != Version::kNone;
  const ControllerDirs dirs =
      limited ? instance.dir.Child(name) : ControllerDirs();
  absl::Status status =
      limited ? MakeAll(dirs.Distinct(), instance.dirs) : absl::OkStatus();
  if (status.ok()) {
    status = instance.backend->Apply(dirs, KubeletConfig(resources));
    if (!status.ok()) {
      (void)RemoveAll(dirs.Distinct(), instance.dirs, instance.empty_timeout);
    }
  }
  if (!status.ok()) {
    absl::MutexLock lock(&instance.mu);
    instance.pods.erase(name);
    return status;
  }
  return std::make_shared<PodCgroup>(
      instance_, name, resources, dirs,
      limited ? absl::StrCat(instance.id_prefix, "/", name) : name);
}

absl::Status Manager::Close() {
  Instance& instance = *instance_;
  std::set<std::string> pods;
  {
    absl::MutexLock lock(&instance.mu);
    if (instance.closed) return absl::OkStatus();
    instance.closed = true;
    pods.swap(instance.pods);
  }
  if (instance.version == Version::kNone) return absl::OkStatus();
  absl::Status first;
  for (const std::string& pod : pods) {
    absl::Status status = RemoveAll(instance.dir.Child(pod).Distinct(),
                                    instance.dirs, instance.empty_timeout);
    if (first.ok()) first = status;
  }
  absl::Status status = instance.backend->ReleaseInstance(
      instance.own, instance.dir, instance.dirs);
  if (first.ok()) first = status;
  status =
      RemoveAll(instance.dir.Distinct(), instance.dirs, instance.empty_timeout);
  return first.ok() ? status : first;
}

}  // namespace knbench::cgroups
