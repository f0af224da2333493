#include "knbench/local_serving/serving.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/common/log.h"
#include "knbench/common/net.h"
#include "knbench/local_serving/sd_file.h"
#include "knbench/local_serving/state.h"

namespace knbench::local_serving {

namespace am = autoscaler_model;

namespace {

// Threads polling the router's completion queue. With one, each call's
// events run where they arrive: in an A/B on this 2-core machine two threads
// cost 5x the context switches per call (12 against 2.4 at 1 000 RPS,
// docs/bench.md), handing events to each other.
constexpr int kRouterThreads = 1;

RouterOptions RouterOptionsFor(const ServingOptions& o) {
  RouterOptions r;
  r.container_concurrency = o.config.container_concurrency;
  r.queue_depth = o.queue_depth;
  return r;
}

CgroupPods::Options CgroupOptionsFor(const ServingOptions& o) {
  CgroupPods::Options c;
  c.resources = o.pod_resources.resources;
  c.manager.enabled = o.pod_cgroups;
  return c;
}

// What a cluster would label the pods' containers with: the worker binary
// stands for the image.
cgroups::ContainerLabels ContainerLabelsFor(const ServingOptions& o) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return {o.labels.namespace_name, "worker", o.pods.worker_path, host};
}

// The pods the KPA keeps when idle.
int32_t IdlePods(const am::KpaConfig& config) {
  return config.enable_scale_to_zero ? config.min_scale
                                     : std::max(config.min_scale, 1);
}

PodManager::Listener ListenerFor(Router* router, ServingMetrics* metrics,
                                 const ServingOptions& o) {
  PodManager::Listener l;
  l.ready = [router](const std::string& name,
                     std::shared_ptr<grpc::Channel> channel) {
    router->AddPod(name, std::move(channel));
  };
  l.gone = [router](const std::string& name) { router->RemovePod(name); };
  l.counts = [metrics](const PodCounts& counts) { metrics->OnPods(counts); };
  if (!o.sd_file.empty()) {
    l.changed = [o](const std::vector<PodStatus>& pods) {
      const absl::Status st = WriteFileAtomically(
          o.sd_file, FileSdJson(pods, o.pods.host, o.labels.namespace_name,
                                o.labels.service_name));
      if (!st.ok()) Logf("warning: %s", st.message());
    };
  }
  return l;
}

}  // namespace

LocalServing::LocalServing(ServingOptions options)
    : options_(std::move(options)),
      target_per_pod_(am::ResolveTarget(options_.config).target),
      registry_(std::make_shared<prometheus::Registry>()),
      serving_metrics_(*registry_, options_.metric_names, options_.labels,
                       options_.config.metric),
      cgroups_(CgroupOptionsFor(options_)),
      metrics_(registry_),
      start_(clock_.Now()),
      stats_(start_),
      router_(RouterOptionsFor(options_), &stats_, &serving_metrics_, &clock_),
      pods_(options_.pods, ListenerFor(&router_, &serving_metrics_, options_),
            PodManager::World{&clock_, nullptr, nullptr, &cgroups_}) {
  metrics_.Add(cgroups_.Collector(ContainerLabelsFor(options_)));
  metrics_.http().Handle("/state", [this] {
    ServingState state;
    state.counts = pods_.counts();
    state.router = router_.snapshot();
    state.autoscaler_class =
        std::string(am::AutoscalerClassName(am::AutoscalerClass::kKpa));
    state.idle_pods = IdlePods(options_.config);
    state.pod_resources =
        PodResourcesJson(options_.pod_resources, cgroups_.enforcement());
    state.pods = pods_.pods();
    state.cgroups = cgroups_.Views();
    return HttpResponse{200, "application/json", StateJson(state)};
  });
}

LocalServing::~LocalServing() { Shutdown(); }

absl::Status LocalServing::Start() {
  for (auto [path, file] :
       {std::pair{&options_.stats_out, &stats_file_},
        std::pair{&options_.decisions_out, &decisions_file_}}) {
    if (path->empty()) continue;
    file->open(*path, std::ios::binary | std::ios::trunc);
    if (!*file)
      return absl::UnavailableError(absl::StrCat("cannot write ", *path));
  }
  if (!options_.sd_file.empty()) {
    if (absl::Status st = WriteFileAtomically(
            options_.sd_file,
            FileSdJson({}, options_.pods.host, options_.labels.namespace_name,
                       options_.labels.service_name));
        !st.ok()) {
      return st;
    }
  }
  if (absl::Status st = metrics_.Start(options_.metrics_port, options_.host);
      !st.ok()) {
    return absl::UnavailableError(absl::StrCat("metrics port ", options_.host,
                                               ":", options_.metrics_port, ": ",
                                               st.message()));
  }
  if (absl::Status st = CheckPortFree(options_.host, options_.grpc_port);
      !st.ok()) {
    metrics_.Stop();
    return st;
  }
  grpc::ServerBuilder builder;
  // Without SO_REUSEPORT a port someone else holds is an error, not a
  // silently shared port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(JoinHostPort(options_.host, options_.grpc_port),
                           grpc::InsecureServerCredentials(), &grpc_port_);
  router_.Register(&builder);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    server_.reset();
    metrics_.Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":",
                     options_.grpc_port, " (in use, or not permitted)"));
  }

  if (!cgroups_.warning().empty()) Logf("warning: %s", cgroups_.warning());
  router_.SetArrivalHook([this] {
    absl::MutexLock lock(&loop_mu_);
    poked_ = true;
  });
  router_.Start(kRouterThreads);
  {
    absl::MutexLock lock(&loop_mu_);
    live_ = std::make_unique<LiveAutoscaler>(
        options_.config, start_, &stats_,
        [this] { return pods_.counts().ready; },
        stats_file_.is_open() ? &stats_file_ : nullptr,
        decisions_file_.is_open() ? &decisions_file_ : nullptr);
    pods_.ScaleTo(live_->scale());
  }
  router_.SetActivatorInPath(true);
  pods_.Start();
  loop_ = std::thread([this] { Loop(); });
  started_ = true;
  return absl::OkStatus();
}

void LocalServing::Loop() {
  absl::MutexLock lock(&loop_mu_);
  while (!stop_) {
    // Until the current second ends, or a request reaches a revision whose
    // decider wants no pods (Knative's poke).
    clock_.AwaitWithDeadline(
        loop_mu_,
        absl::Condition(
            +[](LocalServing* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->loop_mu_) {
              return s->poked_ || s->stop_;
            },
            this),
        live_->next_boundary());
    if (stop_) break;
    poked_ = false;
    Apply(live_->Advance(clock_.Now()));
    router_.EnableArrivalHook(live_->pokeable());
    // A request that came while the hook was off is in the stats already.
    if (live_->pokeable()) Apply(live_->Advance(clock_.Now()));
    serving_metrics_.OnRouter(router_.snapshot());
  }
}

void LocalServing::Apply(const std::vector<am::TickRow>& rows) {
  for (const am::TickRow& row : rows) {
    if (row.desired_pods != last_.desired_pods ||
        row.panic_mode != last_.panic_mode ||
        row.activator_in_path != last_.activator_in_path || row.poke) {
      Logf("t=%ds %s: %d pods (decider %d), ready %d, %s %.3f / %.3f, %s%s",
           row.time_s, row.poke ? "poke" : "tick", row.desired_pods,
           row.decider_pods, row.ready_pods,
           am::MetricName(options_.config.metric), row.stable_value,
           row.panic_value,
           row.activator_in_path ? "activator in path" : "activator out",
           row.panic_mode ? ", panic" : "");
    }
    last_ = row;
    pods_.ScaleTo(row.desired_pods);
    router_.SetActivatorInPath(row.activator_in_path);
    serving_metrics_.OnDecision(row, target_per_pod_);
  }
}

void LocalServing::Shutdown() {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&loop_mu_);
    stop_ = true;
  }
  loop_.join();
  const absl::Duration grace = options_.shutdown_grace;
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(grace));
  router_.Stop();
  pods_.Stop(grace);
  cgroups_.Close();
  metrics_.Stop();
  stats_file_.close();
  decisions_file_.close();
}

}  // namespace knbench::local_serving
