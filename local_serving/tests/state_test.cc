#include "knbench/local_serving/state.h"

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

TEST(StateJson, CountsRouterAndEveryPodOnOneLine) {
  PodCounts counts;
  counts.requested = 2;
  counts.ready = 1;
  counts.not_ready = 1;
  counts.pending = 1;
  counts.restarts = 3;
  Router::Snapshot router;
  router.activator_in_path = true;
  router.queued = 4;
  router.inflight = 5;
  PodStatus ready;
  ready.name = "worker-1\"quoted\"";
  ready.phase = PodPhase::kReady;
  ready.pid = 100;
  ready.grpc_port = 4000;
  ready.metrics_port = 4001;
  ready.restarts = 3;
  PodStatus pending;
  pending.name = "worker-2";
  EXPECT_EQ(
      StateJson(counts, router, {ready, pending}),
      R"({"requested":2,"ready":1,"not_ready":1,"pending":1,"terminating":0,)"
      R"("restarts":3,"activator_in_path":true,"queued":4,"inflight":5,)"
      R"("pods":[{"name":"worker-1\"quoted\"","phase":"ready","pid":100,)"
      R"("grpc_port":4000,"metrics_port":4001,"restarts":3},)"
      R"({"name":"worker-2","phase":"pending","pid":0,"grpc_port":0,)"
      R"("metrics_port":0,"restarts":0}]})"
      "\n");
  EXPECT_EQ(StateJson(PodCounts{}, Router::Snapshot{}, {}),
            R"({"requested":0,"ready":0,"not_ready":0,"pending":0,)"
            R"("terminating":0,"restarts":0,"activator_in_path":false,)"
            R"("queued":0,"inflight":0,"pods":[]})"
            "\n");
}

}  // namespace
}  // namespace knbench::local_serving
