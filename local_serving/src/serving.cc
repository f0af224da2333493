#include "knbench/local_serving/serving.h"

#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "knbench/autoscaler_model/autoscaler_class.h"
#include "knbench/common/log.h"
#include "knbench/common/net.h"
#include "knbench/local_serving/hpa_loop.h"
#include "knbench/local_serving/kpa_loop.h"
#include "knbench/local_serving/sd_file.h"
#include "knbench/local_serving/state.h"

namespace knbench::local_serving {

namespace am = autoscaler_model;

namespace {

// At shutdown, the time left to the router to send its answers once the
// grace is over.
constexpr absl::Duration kAnswerTime = absl::Seconds(1);

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

bool IsHpa(const ServingOptions& o) {
  return o.autoscaler_class == am::AutoscalerClass::kHpa;
}

// The KPA's metric for its series; none under the HPA class.
std::optional<am::Metric> KpaMetric(const ServingOptions& o) {
  if (IsHpa(o)) return std::nullopt;
  return o.config.metric;
}

// The file_sd writer of --prometheus-sd-file; null without one.
std::unique_ptr<SdFileWriter> SdFileFor(const ServingOptions& o) {
  if (o.sd_file.empty()) return nullptr;
  return std::make_unique<SdFileWriter>(
      o.sd_file, o.pods.host, o.labels.namespace_name, o.labels.service_name);
}

PodManager::Listener ListenerFor(
    Router* router, ServingMetrics* metrics, SdFileWriter* sd_file,
    std::function<void(const PodCounts&)> also_counts) {
  PodManager::Listener l;
  l.ready = [router](const std::string& name, const std::string& address) {
    router->AddPod(name, address);
  };
  l.gone = [router](const std::string& name) { router->RemovePod(name); };
  l.counts = [metrics, also_counts](const PodCounts& counts) {
    metrics->OnPods(counts);
    also_counts(counts);
  };
  if (sd_file != nullptr) {
    l.changed = [sd_file](const std::vector<PodStatus>& pods) {
      sd_file->Write(pods);
    };
  }
  return l;
}

}  // namespace

LocalServing::LocalServing(ServingOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      serving_metrics_(*registry_, options_.metric_names, options_.labels,
                       KpaMetric(options_)),
      cgroups_(CgroupOptionsFor(options_)),
      metrics_(registry_),
      start_(clock_.Now()),
      stats_(start_),
      sd_file_(SdFileFor(options_)),
      router_(RouterOptionsFor(options_), &stats_, &serving_metrics_, &clock_),
      // The pods' thread starts after autoscaler_ is set, and stops before
      // it goes.
      pods_(options_.pods,
            ListenerFor(&router_, &serving_metrics_, sd_file_.get(),
                        [this](const PodCounts& c) { autoscaler_->OnPods(c); }),
            PodManager::World{&clock_, nullptr, nullptr, &cgroups_}) {
  metrics_.Add(cgroups_.Collector(ContainerLabelsFor(options_)));
  if (IsHpa(options_)) {
    hpa_metrics_ = std::make_unique<HpaMetrics>(
        *registry_, options_.labels.namespace_name,
        options_.labels.revision_name, am::MakeHpaSpec(options_.hpa));
  }
  metrics_.http().Handle("/state", [this] {
    ServingState state;
    state.counts = pods_.counts();
    state.router = router_.snapshot();
    state.autoscaler_class =
        std::string(am::AutoscalerClassName(options_.autoscaler_class));
    state.idle_pods = autoscaler_->idle_pods();
    state.pod_resources =
        PodResourcesJson(options_.pod_resources, cgroups_.enforcement());
    state.pods = pods_.pods();
    state.cgroups = cgroups_.Views();
    return HttpResponse{200, "application/json", StateJson(state)};
  });
}

LocalServing::~LocalServing() { Shutdown(); }

absl::Status LocalServing::Start() {
  for (auto [flag, path, file] :
       {std::tuple{"--stats-out", &options_.stats_out, &stats_file_},
        std::tuple{"--decisions-out", &options_.decisions_out,
                   &decisions_file_}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::unique_ptr<OutputFile>> opened =
        OutputFile::Open(flag, *path);
    if (!opened.ok()) return opened.status();
    *file = *std::move(opened);
  }
  // Before the router starts (the KPA's poke hooks into it) and before
  // /state can be asked.
  autoscaler_ = MakeLoop();
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
  // One service for both, its spans named by the part that made them: the
  // exporter's resource is per process (docs/local_serving.md, "Traces").
  absl::StatusOr<std::unique_ptr<tracing::SpanExporter>> exporter =
      tracing::StartExporter(options_.tracing, "local-serving", *registry_);
  if (!exporter.ok()) {
    metrics_.Stop();
    return exporter.status();
  }
  exporter_ = *std::move(exporter);
  router_.SetTracing({exporter_.get(), options_.tracing.sample_rate});
  absl::StatusOr<int> port = router_.Listen(options_.host, options_.grpc_port);
  if (!port.ok()) {
    metrics_.Stop();
    return port.status();
  }
  grpc_port_ = *port;

  if (!cgroups_.warning().empty()) Logf("warning: %s", cgroups_.warning());
  router_.Start();
  autoscaler_->Start();
  pods_.Start();
  started_ = true;
  return absl::OkStatus();
}

std::unique_ptr<AutoscalingLoop> LocalServing::MakeLoop() {
  LoopContext context;
  context.clock = &clock_;
  context.start = start_;
  context.router = &router_;
  context.pods = &pods_;
  context.metrics = &serving_metrics_;
  context.stats_out = stats_file_ ? &stats_file_->stream() : nullptr;
  context.decisions_out =
      decisions_file_ ? &decisions_file_->stream() : nullptr;
  if (!IsHpa(options_)) {
    return std::make_unique<KpaLoop>(options_.config, context, &stats_);
  }
  return std::make_unique<HpaLoop>(
      options_.hpa, context, [this] { return ObservePods(); },
      hpa_metrics_.get());
}

std::vector<PodObservation> LocalServing::ObservePods() {
  std::vector<PodObservation> out;
  for (const PodStatus& p : pods_.pods()) {
    if (p.phase == PodPhase::kTerminating) continue;
    PodObservation o;
    o.name = p.name;
    o.started = p.started_once;
    o.start = p.started_at;
    o.ready = p.phase == PodPhase::kReady;
    o.ready_since = p.ready_changed_at;
    o.pid = p.pid;
    if (p.pid != 0) o.usage = cgroups_.Usage(p.name);
    out.push_back(std::move(o));
  }
  return out;
}

void LocalServing::Shutdown() {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  autoscaler_->Stop();
  const absl::Duration grace = options_.shutdown_grace;
  // Calls still in progress when the grace ends get UNAVAILABLE from the
  // router, their pod calls cancelled, so that the pods can drain; the
  // router, which refuses new calls from now on (GOAWAY), is left a moment
  // to send those answers.
  const absl::Time grace_end = absl::Now() + grace;
  router_.AbortAt(grace_end);
  router_.Drain(grace_end + kAnswerTime);
  // The router's thread stops after the pods, so that the pods' GOAWAYs
  // reach and close their connections at once while the pods drain.
  pods_.Stop(grace);
  router_.Stop();
  if (exporter_ != nullptr) exporter_->Shutdown();  // its last spans
  cgroups_.Close();
  metrics_.Stop();
  for (OutputFile* file : {stats_file_.get(), decisions_file_.get()}) {
    if (file != nullptr) file->Close().IgnoreError();  // OutputStatus() has it
  }
}

absl::Status LocalServing::OutputStatus() const {
  for (const OutputFile* file : {stats_file_.get(), decisions_file_.get()}) {
    if (file != nullptr && !file->status().ok()) return file->status();
  }
  return sd_file_ != nullptr ? sd_file_->status() : absl::OkStatus();
}

}  // namespace knbench::local_serving
