// The collector's text exposition: names, types, labels and values, for
// pods on a cgroup v2 tree with known counters.
#include "knbench/cgroups/collector.h"

#include <fstream>

#include "fake_kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace knbench::cgroups {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ManagerOptions options;
    options.prefix = "knbench-test";
    options.files = testing::FakeV2(tree_, "/t.scope", "cpu memory");
    tree_.Write("sys/fs/cgroup/t.scope/cgroup.subtree_control", "cpu memory");
    options.dirs = testing::FakeV2Kernel();
    manager_ = Manager::Create(options);
    ASSERT_EQ(manager_->version(), Version::kV2) << manager_->warning();
    instance_ = manager_->instance_dirs().at(0);
  }

  std::string Scrape(std::vector<std::shared_ptr<const PodCgroup>> pods) {
    ResourceCollector collector(
        {"default", "worker", "knbench/worker", "node-1"},
        [pods] { return pods; });
    return prometheus::TextSerializer().Serialize(collector.Collect());
  }

  void Write(const std::string& pod, const std::string& file,
             const std::string& text) {
    std::ofstream(instance_ + "/" + pod + "/" + file) << text;
  }

  testing::TempTree tree_;
  std::unique_ptr<Manager> manager_;
  std::string instance_;
};

TEST_F(CollectorTest, CadvisorAndKubeStateMetricsSeries) {
  Resources r;
  r.cpu_request_millicores = 500;
  r.cpu_limit_millicores = 1000;
  r.memory_request_bytes = 64 << 20;
  r.memory_limit_bytes = 256 << 20;
  auto limited = manager_->AddPod("worker-a", r);
  auto plain = manager_->AddPod("worker-b", Resources());
  ASSERT_TRUE(limited.ok() && plain.ok());
  Write("worker-a", "cpu.stat",
        "usage_usec 2500000\nnr_periods 40\nnr_throttled 10\n"
        "throttled_usec 500000\n");
  Write("worker-a", "memory.current", "10000000\n");
  Write("worker-a", "memory.stat", "inactive_file 1000000\n");
  Write("worker-a", "memory.events", "oom_kill 1\n");
  Write("worker-b", "cpu.stat",
        "usage_usec 250000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
  Write("worker-b", "memory.current", "3000000\n");

  const std::string id =
      "/t.scope/" + instance_.substr(instance_.rfind('/') + 1);
  auto base = [&](const std::string& pod) {
    return "container=\"worker\",id=\"" + id + "/" + pod +
           "\",image=\"knbench/worker\",name=\"" + pod +
           "\",namespace=\"default\",pod=\"" + pod + "\"";
  };
  auto usage = [&](const std::string& pod) {
    return "container=\"worker\",cpu=\"total\",id=\"" + id + "/" + pod +
           "\",image=\"knbench/worker\",name=\"" + pod +
           "\",namespace=\"default\",pod=\"" + pod + "\"";
  };
  auto ksm = [](const std::string& resource, const std::string& unit) {
    return "namespace=\"default\",pod=\"worker-a\",container=\"worker\","
           "node=\"node-1\",resource=\"" +
           resource + "\",unit=\"" + unit + "\"";
  };
  const std::string a = base("worker-a"), b = base("worker-b");
  EXPECT_EQ(
      Scrape({*limited, *plain}),
      "# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed "
      "in seconds.\n"
      "# TYPE container_cpu_usage_seconds_total counter\n"
      "container_cpu_usage_seconds_total{" +
          usage("worker-a") +
          "} 2.5\n"
          "container_cpu_usage_seconds_total{" +
          usage("worker-b") +
          "} 0.25\n"
          "# HELP container_cpu_cfs_periods_total Number of elapsed "
          "enforcement period intervals.\n"
          "# TYPE container_cpu_cfs_periods_total counter\n"
          "container_cpu_cfs_periods_total{" +
          a +
          "} 40\n"
          "# HELP container_cpu_cfs_throttled_periods_total Number of "
          "throttled period intervals.\n"
          "# TYPE container_cpu_cfs_throttled_periods_total counter\n"
          "container_cpu_cfs_throttled_periods_total{" +
          a +
          "} 10\n"
          "# HELP container_cpu_cfs_throttled_seconds_total Total time "
          "duration the container has been throttled.\n"
          "# TYPE container_cpu_cfs_throttled_seconds_total counter\n"
          "container_cpu_cfs_throttled_seconds_total{" +
          a +
          "} 0.5\n"
          "# HELP container_memory_working_set_bytes Current working set in "
          "bytes.\n"
          "# TYPE container_memory_working_set_bytes gauge\n"
          "container_memory_working_set_bytes{" +
          a +
          "} 9000000\n"
          "container_memory_working_set_bytes{" +
          b +
          "} 3000000\n"
          "# HELP container_oom_events_total Count of out of memory events "
          "observed for the container\n"
          "# TYPE container_oom_events_total counter\n"
          "container_oom_events_total{" +
          a +
          "} 1\n"
          "container_oom_events_total{" +
          b +
          "} 0\n"
          "# HELP container_spec_cpu_shares CPU share of the container.\n"
          "# TYPE container_spec_cpu_shares gauge\n"
          "container_spec_cpu_shares{" +
          a +
          "} 500\n"
          "container_spec_cpu_shares{" +
          b +
          "} 2597\n"
          "# HELP container_spec_cpu_quota CPU quota of the container.\n"
          "# TYPE container_spec_cpu_quota gauge\n"
          "container_spec_cpu_quota{" +
          a +
          "} 100000\n"
          "# HELP container_spec_cpu_period CPU period of the container.\n"
          "# TYPE container_spec_cpu_period gauge\n"
          "container_spec_cpu_period{" +
          a +
          "} 100000\n"
          "# HELP container_spec_memory_limit_bytes Memory limit for the "
          "container.\n"
          "# TYPE container_spec_memory_limit_bytes gauge\n"
          "container_spec_memory_limit_bytes{" +
          a +
          "} 268435456\n"
          "container_spec_memory_limit_bytes{" +
          b +
          "} 0\n"
          "# HELP kube_pod_container_resource_requests The number of requested "
          "request resource by a container. It is recommended to use the "
          "kube_pod_resource_requests metric exposed by kube-scheduler "
          "instead, as it is more precise.\n"
          "# TYPE kube_pod_container_resource_requests gauge\n"
          "kube_pod_container_resource_requests{" +
          ksm("cpu", "core") +
          "} 0.5\n"
          "kube_pod_container_resource_requests{" +
          ksm("memory", "byte") +
          "} 67108864\n"
          "# HELP kube_pod_container_resource_limits The number of requested "
          "limit resource by a container. It is recommended to use the "
          "kube_pod_resource_limits metric exposed by kube-scheduler instead, "
          "as it is more precise.\n"
          "# TYPE kube_pod_container_resource_limits gauge\n"
          "kube_pod_container_resource_limits{" +
          ksm("cpu", "core") +
          "} 1\n"
          "kube_pod_container_resource_limits{" +
          ksm("memory", "byte") + "} 268435456\n");
}

TEST_F(CollectorTest, APodWhoseCgroupIsGoneKeepsOnlyItsSpec) {
  Resources r;
  r.cpu_limit_millicores = 200;
  auto pod = manager_->AddPod("worker-a", r);
  ASSERT_TRUE(pod.ok());
  ASSERT_TRUE((*pod)->Remove().ok());
  const std::string text = Scrape({*pod});
  // No cAdvisor series: every family is kube-state-metrics'.
  EXPECT_THAT(text, Not(HasSubstr("# TYPE container_")));
  EXPECT_THAT(text, HasSubstr("# TYPE kube_pod_container_resource_limits"));
  // The API server's defaulting: the request is the limit.
  EXPECT_THAT(text,
              HasSubstr("kube_pod_container_resource_requests{namespace="
                        "\"default\",pod=\"worker-a\",container=\"worker\""
                        ",node=\"node-1\",resource=\"cpu\",unit=\"core\"}"
                        " 0.2\n"));
}

}  // namespace
}  // namespace knbench::cgroups
