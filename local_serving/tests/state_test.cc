#include "knbench/local_serving/state.h"

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

TEST(StateJson, CountsRouterAutoscalerAndEveryPodOnOneLine) {
  ServingState s;
  s.counts.requested = 2;
  s.counts.ready = 1;
  s.counts.not_ready = 1;
  s.counts.pending = 1;
  s.counts.restarts = 3;
  s.counts.restarts_by_reason = {{"Error", 2}, {"OOMKilled", 1}};
  s.router.activator_in_path = true;
  s.router.queued = 4;
  s.router.inflight = 5;
  s.router.reading = 6;
  s.router.message_bytes = 7;
  s.autoscaler_class = "hpa";
  s.idle_pods = 1;
  s.pod_resources = {{"cpu_limit_millicores", 1000}};
  PodStatus ready;
  ready.name = "worker-1\"quoted\"";
  ready.phase = PodPhase::kReady;
  ready.pid = 100;
  ready.grpc_port = 4000;
  ready.metrics_port = 4001;
  ready.restarts = 3;
  ready.last_termination_reason = "OOMKilled";
  PodStatus pending;
  pending.name = "worker-2";
  s.pods = {ready, pending};
  PodCgroupView& cgroup = s.cgroups[ready.name];
  cgroup.id = "/ls/pod";
  cgroup.dirs = {"/sys/fs/cgroup/cpu/ls/pod", "/sys/fs/cgroup/memory/ls/pod"};
  cgroup.spec.cpu_shares = 512;
  cgroup.spec.cfs_quota_micros = 100000;
  cgroup.spec.cfs_period_micros = 100000;
  EXPECT_EQ(
      StateJson(s),
      R"({"requested":2,"ready":1,"not_ready":1,"pending":1,"terminating":0,)"
      R"("restarts":3,"activator_in_path":true,"queued":4,"inflight":5,)"
      R"("reading":6,"message_bytes":7,)"
      R"("restarts_by_reason":{"Error":2,"OOMKilled":1},"class":"hpa",)"
      R"("idle_pods":1,"pod_resources":{"cpu_limit_millicores":1000},)"
      R"("pods":[{"name":"worker-1\"quoted\"","phase":"ready","pid":100,)"
      R"("grpc_port":4000,"metrics_port":4001,"restarts":3,)"
      R"("last_termination_reason":"OOMKilled","cgroup":{"id":"/ls/pod",)"
      R"("dirs":["/sys/fs/cgroup/cpu/ls/pod","/sys/fs/cgroup/memory/ls/pod"],)"
      R"("cpu_shares":512,"cpu_quota_us":100000,"cpu_period_us":100000,)"
      R"("memory_limit_bytes":null}},)"
      R"({"name":"worker-2","phase":"pending","pid":0,"grpc_port":0,)"
      R"("metrics_port":0,"restarts":0,"last_termination_reason":null,)"
      R"("cgroup":null}]})"
      "\n");
  EXPECT_EQ(StateJson(ServingState{}),
            R"({"requested":0,"ready":0,"not_ready":0,"pending":0,)"
            R"("terminating":0,"restarts":0,"activator_in_path":false,)"
            R"("queued":0,"inflight":0,"reading":0,"message_bytes":0,)"
            R"("restarts_by_reason":{},"class":"",)"
            R"("idle_pods":0,"pod_resources":null,"pods":[]})"
            "\n");
}

}  // namespace
}  // namespace knbench::local_serving
