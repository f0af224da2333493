#include "knbench/cgroups/collector.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace knbench::cgroups {
namespace {

using prometheus::MetricType;

struct Definition {
  const char* name;
  const char* help;
  MetricType type;
};

// Names, help and types as cAdvisor and kube-state-metrics export them.
constexpr Definition kCpuUsage{"container_cpu_usage_seconds_total",
                               "Cumulative cpu time consumed in seconds.",
                               MetricType::Counter};
constexpr Definition kPeriods{"container_cpu_cfs_periods_total",
                              "Number of elapsed enforcement period intervals.",
                              MetricType::Counter};
constexpr Definition kThrottledPeriods{
    "container_cpu_cfs_throttled_periods_total",
    "Number of throttled period intervals.", MetricType::Counter};
constexpr Definition kThrottledSeconds{
    "container_cpu_cfs_throttled_seconds_total",
    "Total time duration the container has been throttled.",
    MetricType::Counter};
constexpr Definition kWorkingSet{"container_memory_working_set_bytes",
                                 "Current working set in bytes.",
                                 MetricType::Gauge};
constexpr Definition kOomEvents{
    "container_oom_events_total",
    "Count of out of memory events observed for the container",
    MetricType::Counter};
constexpr Definition kSpecShares{"container_spec_cpu_shares",
                                 "CPU share of the container.",
                                 MetricType::Gauge};
constexpr Definition kSpecQuota{"container_spec_cpu_quota",
                                "CPU quota of the container.",
                                MetricType::Gauge};
constexpr Definition kSpecPeriod{"container_spec_cpu_period",
                                 "CPU period of the container.",
                                 MetricType::Gauge};
constexpr Definition kSpecMemory{"container_spec_memory_limit_bytes",
                                 "Memory limit for the container.",
                                 MetricType::Gauge};
constexpr Definition kRequests{
    "kube_pod_container_resource_requests",
    "The number of requested request resource by a container. It is "
    "recommended to use the kube_pod_resource_requests metric exposed by "
    "kube-scheduler instead, as it is more precise.",
    MetricType::Gauge};
constexpr Definition kLimits{
    "kube_pod_container_resource_limits",
    "The number of requested limit resource by a container. It is "
    "recommended to use the kube_pod_resource_limits metric exposed by "
    "kube-scheduler instead, as it is more precise.",
    MetricType::Gauge};

// The order families appear in, cAdvisor's then kube-state-metrics'.
constexpr const Definition* kOrder[] = {
    &kCpuUsage,   &kPeriods,    &kThrottledPeriods, &kThrottledSeconds,
    &kWorkingSet, &kOomEvents,  &kSpecShares,       &kSpecQuota,
    &kSpecPeriod, &kSpecMemory, &kRequests,         &kLimits};

using Labels = std::vector<prometheus::ClientMetric::Label>;

class Families {
 public:
  void Add(const Definition& def, Labels labels, double value) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    if (def.type == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    metrics_[def.name].push_back(std::move(metric));
  }

  std::vector<prometheus::MetricFamily> Take() {
    std::vector<prometheus::MetricFamily> families;
    for (const Definition* def : kOrder) {
      auto it = metrics_.find(def->name);
      if (it == metrics_.end()) continue;
      families.push_back(prometheus::MetricFamily{
          def->name, def->help, def->type, std::move(it->second)});
    }
    return families;
  }

 private:
  std::map<std::string, std::vector<prometheus::ClientMetric>> metrics_;
};

// cAdvisor's labels, sorted by name as its exporter sorts them.
Labels CadvisorLabels(const ContainerLabels& c, const PodCgroup& pod,
                      bool with_cpu) {
  Labels labels = {{"container", c.container}};
  if (with_cpu) labels.push_back({"cpu", "total"});
  const std::string& id = pod.id();
  labels.insert(labels.end(), {{"id", id},
                               {"image", c.image},
                               {"name", id.substr(id.rfind('/') + 1)},
                               {"namespace", c.namespace_name},
                               {"pod", pod.name()}});
  return labels;
}

void AddCadvisor(const ContainerLabels& c, const PodCgroup& pod,
                 Families& out) {
  const absl::StatusOr<Usage> usage = pod.ReadUsage();
  const absl::StatusOr<Spec> spec = pod.ReadSpec();
  if (!usage.ok() || !spec.ok()) return;
  const Labels labels = CadvisorLabels(c, pod, false);
  out.Add(kCpuUsage, CadvisorLabels(c, pod, true), usage->cpu_seconds);
  // As cAdvisor: the CFS series only where a quota is set.
  if (spec->cfs_quota_micros) {
    out.Add(kPeriods, labels, static_cast<double>(usage->cfs_periods));
    out.Add(kThrottledPeriods, labels,
            static_cast<double>(usage->cfs_throttled_periods));
    out.Add(kThrottledSeconds, labels, usage->cfs_throttled_seconds);
    out.Add(kSpecQuota, labels, static_cast<double>(*spec->cfs_quota_micros));
    out.Add(kSpecPeriod, labels, static_cast<double>(spec->cfs_period_micros));
  }
  out.Add(kWorkingSet, labels, usage->memory_working_set_bytes);
  out.Add(kOomEvents, labels, static_cast<double>(usage->oom_kills));
  if (spec->cpu_shares) {
    out.Add(kSpecShares, labels, static_cast<double>(*spec->cpu_shares));
  }
  out.Add(kSpecMemory, labels,
          static_cast<double>(spec->memory_limit_bytes.value_or(0)));
}

void AddKubeStateMetrics(const ContainerLabels& c, const PodCgroup& pod,
                         Families& out) {
  const Resources r = WithApiDefaults(pod.resources());
  auto add = [&](const Definition& def, const char* resource, const char* unit,
                 std::optional<double> value) {
    if (!value) return;
    out.Add(def,
            {{"namespace", c.namespace_name},
             {"pod", pod.name()},
             {"container", c.container},
             {"node", c.node},
             {"resource", resource},
             {"unit", unit}},
            *value);
  };
  auto cores = [](std::optional<int64_t> millicores) -> std::optional<double> {
    if (!millicores) return std::nullopt;
    return static_cast<double>(*millicores) / 1000;
  };
  auto bytes = [](std::optional<int64_t> b) -> std::optional<double> {
    if (!b) return std::nullopt;
    return static_cast<double>(*b);
  };
  add(kRequests, "cpu", "core", cores(r.cpu_request_millicores));
  add(kRequests, "memory", "byte", bytes(r.memory_request_bytes));
  add(kLimits, "cpu", "core", cores(r.cpu_limit_millicores));
  add(kLimits, "memory", "byte", bytes(r.memory_limit_bytes));
}

}  // namespace

ResourceCollector::ResourceCollector(ContainerLabels labels, PodLister pods)
    : labels_(std::move(labels)), pods_(std::move(pods)) {}

std::vector<prometheus::MetricFamily> ResourceCollector::Collect() const {
  Families families;
  for (const std::shared_ptr<const PodCgroup>& pod : pods_()) {
    if (pod == nullptr) continue;
    AddCadvisor(labels_, *pod, families);
    AddKubeStateMetrics(labels_, *pod, families);
  }
  return families.Take();
}

}  // namespace knbench::cgroups
