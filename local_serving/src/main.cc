// local_serving: Knative Serving's request path and autoscaler on one
// machine, with real worker processes as pods. See --help.
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/settings_flags.h"
#include "knbench/autoscaler_model/settings_report.h"
#include "knbench/cgroups/layout.h"
#include "knbench/common/binary.h"
#include "knbench/common/flags.h"
#include "knbench/common/log.h"
#include "knbench/common/net.h"
#include "knbench/common/shutdown.h"
#include "knbench/local_serving/pod_cgroups.h"
#include "knbench/local_serving/pod_resources.h"
#include "knbench/local_serving/serving.h"
#include "knbench/tracing/flags.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080",
          "HOST:PORT of the ingress: every gRPC call sent here goes to a pod. "
          "The metrics port listens on the same host; pods always listen on "
          "127.0.0.1. Port 0 picks a free one (the log says which).");
ABSL_FLAG(int32_t, metrics_port, 2114,
          "Port of /metrics (Knative's autoscaler and activator metrics), "
          "/state (pods and queue as JSON) and /healthz. 0 picks a free one.");
ABSL_FLAG(std::string, worker, "",
          "The worker binary each pod runs (default: the worker built beside "
          "this binary, ../worker/worker).");
ABSL_FLAG(std::vector<std::string>, worker_arg, {},
          "An argument for every pod's worker, after local serving's own "
          "(--bind, --grpc-port, --metrics-port, --shutdown-grace), so it "
          "wins; repeat the flag for more (a value cannot hold a comma).");
ABSL_FLAG(std::string, log_dir, "",
          "Directory of the pods' logs, one file per pod, made if missing "
          "and kept. Default: a new directory under $TMPDIR or /tmp, removed "
          "with the logs when local_serving exits.");
ABSL_FLAG(absl::Duration, pod_start_delay, absl::Seconds(2),
          "How long a new pod stays pending before its process starts: it "
          "stands for scheduling, image pull and container start on a "
          "cluster, which the worker's own start-up (milliseconds) does not "
          "include. Same default as kpa_model; see docs/local_serving.md for "
          "how to measure a realistic value.");
ABSL_FLAG(int64_t, queue_depth, 10000,
          "Calls the activator buffers while no pod has capacity; beyond it "
          "a call gets UNAVAILABLE (Knative's activator holds 10000).");
ABSL_FLAG(std::string, metric_names, "opencensus",
          "Knative metric names to export: opencensus (Knative <= 1.18, "
          "autoscaler_*) or otel (>= 1.19, kn_revision_*).");
ABSL_FLAG(std::string, prometheus_sd_file, "",
          "Write the pods' metrics endpoints here as a Prometheus file_sd "
          "target list (with a pod label), rewritten on every pod change.");
ABSL_FLAG(std::string, stats_out, "",
          "Write the autoscaler's input in kpa_model's input format: the KPA's "
          "per-second time_s,value,ready_pods; under the hpa class the pods' "
          "metric samples (time_s,pod,cpu_millicores,ready,...).");
ABSL_FLAG(std::string, decisions_out, "",
          "Write every decision (the KPA's ticks, or the HPA's syncs) in "
          "kpa_model's output format: kpa_model --input STATS_OUT with the "
          "same settings prints the same rows.");
ABSL_FLAG(std::string, service_name, "",
          "Knative Service name in the metrics' labels (default: the "
          "manifest's metadata.name, else worker).");
ABSL_FLAG(std::string, namespace, "",
          "Namespace in the metrics' labels (default: the manifest's, else "
          "default).");
ABSL_FLAG(int32_t, max_pods, 50,
          "Most pods started at once, whatever the autoscaler asks (pods "
          "share this machine).");
ABSL_FLAG(absl::Duration, termination_grace, absl::Seconds(30),
          "A pod being stopped gets SIGTERM, then SIGKILL after this; it is "
          "also the worker's --shutdown-grace.");
ABSL_FLAG(std::string, pod_cpu_request, "",
          "Every pod's requests.cpu, a Kubernetes quantity (500m, 0.5, 1): "
          "its cgroup's CPU shares (weight), and kube-state-metrics' "
          "request. Default: the manifest's; 0 = none. Under the hpa class "
          "the pods' request is the HPA's --cpu-request instead.");
ABSL_FLAG(std::string, pod_cpu_limit, "",
          "Every pod's limits.cpu, a Kubernetes quantity: its cgroup's CFS "
          "quota per 100 ms period, as the kubelet sets it. Default: the "
          "manifest's; 0 = none.");
ABSL_FLAG(std::string, pod_memory_limit, "",
          "Every pod's limits.memory, a Kubernetes quantity (256Mi): its "
          "cgroup's memory limit; past it the kernel OOM-kills the worker, "
          "which is restarted (reason OOMKilled). Default: the manifest's; "
          "0 = none.");
ABSL_FLAG(bool, pod_cgroups, true,
          "Run each pod in its own cgroup (v1, or a delegated v2 subtree) "
          "with its resources' limits, as the kubelet does, read its usage "
          "like cAdvisor. Where cgroups are not writable: one warning, pods "
          "run unlimited, usage from /proc. --pod-cgroups=false turns them "
          "off.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(30),
          "On SIGTERM/SIGINT: how long calls in progress may take to finish "
          "before the pods are stopped.");

namespace {

namespace am = knbench::autoscaler_model;
namespace ls = knbench::local_serving;

constexpr char kUsage[] =
    R"(local_serving: Knative's autoscaling loop on one machine.

Listens on --listen like a Knative Service's address and forwards every
unary gRPC call to a pod. Pods are processes of the real worker binary,
scaled from zero by Knative's KPA (the autoscaler_model library, the same
code as kpa_model) on the real clock: per-second stats from the request
path, a decision every 2 s and at once when a request reaches a revision
at zero, the activator buffering calls while no pod has capacity, and
scale-down and scale to zero as Knative does them. Metrics use Knative's
names, so the cluster's dashboards and queries work on it.

  local_serving --from-manifest deploy/base/worker/knative-service.yaml \
      --listen 127.0.0.1:8080 --prometheus-sd-file /tmp/pods.json

Autoscaling settings are kpa_model's flags, with Knative's names and
defaults; precedence: flag > --from-manifest > default. With the hpa class
(--class=hpa, or the manifest's), Kubernetes' HPA scales the pods instead:
their CPU (or memory) sampled every --metric-resolution, a sync every
--horizontal-pod-autoscaler-sync-period, never below one pod.

Each pod runs in its own cgroup with the manifest's CPU and memory limits
(or --pod-cpu-limit's and --pod-memory-limit's) where cgroups are
writable, and /metrics carries its usage under cAdvisor's and
kube-state-metrics' names.

Exit status: 0 after SIGTERM/SIGINT (every pod stopped), 1 if a port
cannot be bound or a file written (a write error on --stats-out,
--decisions-out or --prometheus-sd-file is one line when it happens, exit
1 at the end), 2 on bad flags, manifest or worker.

Usage: local_serving [flags])";

[[noreturn]] void UsageError(absl::string_view message) {
  std::cerr << "local_serving: " << message << "\n";
  std::exit(2);
}

std::string DefaultWorker() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "worker";
  const std::string path(self, static_cast<size_t>(n));
  const std::string beside =
      path.substr(0, path.rfind('/')) + "/../worker/worker";
  char resolved[PATH_MAX];
  return realpath(beside.c_str(), resolved) != nullptr ? resolved : beside;
}

// Why `path` cannot be a pod's worker ("is a directory"), or empty: a
// directory passes access(X_OK) and every pod would then exit 127.
std::string NotAWorker(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return errno == ENOENT
               ? "does not exist"
               : absl::StrCat("cannot be looked at: ", strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (access(path.c_str(), X_OK) != 0) return "is not executable";
  return "";
}

// "HOST:PORT" with a numeric host ("[::1]:8080" for IPv6).
void ParseListen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    UsageError(absl::StrCat("--listen=", listen,
                            ": expected HOST:PORT, e.g. 127.0.0.1:8080"));
  }
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (absl::Status st = knbench::CheckBindAddress(*host, "--listen");
      !st.ok()) {
    UsageError(st.message());
  }
}

// The "serving" section of --check-config: every resolved flag that is not
// an autoscaling setting.
nlohmann::ordered_json ServingJson(const ls::ServingOptions& o) {
  return {{"listen", absl::StrCat(o.host, ":", o.grpc_port)},
          {"metrics_port", o.metrics_port},
          {"worker", o.pods.worker_path},
          {"worker_args", o.pods.worker_args},
          {"service", o.labels.service_name},
          {"namespace", o.labels.namespace_name},
          {"revision", o.labels.revision_name},
          {"pod_start_delay", absl::FormatDuration(o.pods.start_delay)},
          {"max_pods", o.pods.max_pods},
          {"queue_depth", o.queue_depth},
          {"metric_names", absl::GetFlag(FLAGS_metric_names)},
          {"termination_grace", absl::FormatDuration(o.pods.termination_grace)},
          {"shutdown_grace", absl::FormatDuration(o.shutdown_grace)},
          {"log_dir", o.pods.log_dir},
          {"stats_out", o.stats_out},
          {"decisions_out", o.decisions_out},
          {"prometheus_sd_file", o.sd_file},
          {"pod_cgroups", o.pod_cgroups},
          {"otlp_endpoint", o.tracing.otlp_endpoint},
          {"trace_out", o.tracing.trace_out},
          {"trace_sample_rate", o.tracing.sample_rate},
          // What would be enforced, found without making anything.
          {"pod_resources",
           ls::PodResourcesJson(
               o.pod_resources,
               ls::EnforcementText(o.pod_cgroups,
                                   knbench::cgroups::DetectLayout()))}};
}

// --check-config. The text keeps the keys (and order) it always had first,
// which scripts read; "service" there is namespace/name.
int PrintConfig(const am::FlagSettings& settings, const ls::ServingOptions& o,
                am::ReportFormat format) {
  nlohmann::ordered_json report = am::SettingsReport("local_serving", settings);
  report["serving"] = ServingJson(o);
  if (format == am::ReportFormat::kText) {
    report["serving"]["service"] =
        absl::StrCat(o.labels.namespace_name, "/", o.labels.service_name);
  }
  const bool ok = am::PrintReport(
      report, format, "serving",
      {"listen", "metrics_port", "worker", "service", "metric",
       "target_per_pod", "container_concurrency", "window",
       "panic_window_percentage", "target_burst_capacity", "min_scale",
       "max_scale", "initial_scale", "scale_to_zero_grace_period",
       "enable_scale_to_zero", "pod_start_delay", "max_pods"});
  return ok ? 0 : 1;
}

// The metric labels: flags, else the manifest's, else Knative's example.
ls::RevisionLabels Labels(const am::FlagSettings& settings) {
  const std::string service = absl::GetFlag(FLAGS_service_name);
  const std::string ns = absl::GetFlag(FLAGS_namespace);
  ls::RevisionLabels labels;
  labels.service_name = !service.empty() ? service
                        : !settings.manifest.service_name.empty()
                            ? settings.manifest.service_name
                            : "worker";
  labels.namespace_name = !ns.empty() ? ns
                          : !settings.manifest.namespace_name.empty()
                              ? settings.manifest.namespace_name
                              : "default";
  labels.configuration_name = labels.service_name;
  labels.revision_name = absl::StrCat(labels.service_name, "-00001");
  return labels;
}

ls::PodManager::Options PodOptionsOrExit(const ls::RevisionLabels& labels) {
  ls::PodManager::Options pods;
  pods.worker_path = absl::GetFlag(FLAGS_worker);
  if (pods.worker_path.empty()) pods.worker_path = DefaultWorker();
  if (const std::string why = NotAWorker(pods.worker_path); !why.empty()) {
    UsageError(absl::StrCat("--worker: ", pods.worker_path,
                            " is not an executable file (it ", why,
                            "; build the worker, or pass --worker)"));
  }
  pods.worker_args = absl::GetFlag(FLAGS_worker_arg);
  pods.name_prefix = absl::StrCat(labels.revision_name, "-deployment");
  // Pods are this machine's processes: loopback, whatever --listen says.
  pods.host = "127.0.0.1";
  pods.start_delay = absl::GetFlag(FLAGS_pod_start_delay);
  pods.termination_grace = absl::GetFlag(FLAGS_termination_grace);
  pods.max_pods = absl::GetFlag(FLAGS_max_pods);
  if (pods.max_pods < 1 || pods.max_pods > 1000) {
    UsageError("--max-pods must be between 1 and 1000");
  }
  pods.log_dir = absl::GetFlag(FLAGS_log_dir);
  return pods;
}

// Every flag into ServingOptions, validated; a bad one exits 2.
ls::ServingOptions ServingOptionsOrExit(const am::FlagSettings& settings) {
  ls::ServingOptions o;
  o.autoscaler_class = settings.autoscaler_class;
  o.config = settings.config;
  o.hpa = settings.hpa;
  ParseListen(absl::GetFlag(FLAGS_listen), &o.host, &o.grpc_port);
  o.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (o.metrics_port < 0 || o.metrics_port > 65535) {
    UsageError("--metrics-port must be a TCP port (0..65535)");
  }
  const auto names = ls::ParseMetricNames(absl::GetFlag(FLAGS_metric_names));
  if (!names) UsageError("--metric-names must be opencensus or otel");
  o.metric_names = *names;
  o.queue_depth = absl::GetFlag(FLAGS_queue_depth);
  if (o.queue_depth < 0) UsageError("--queue-depth must not be negative");
  o.sd_file = absl::GetFlag(FLAGS_prometheus_sd_file);
  o.stats_out = absl::GetFlag(FLAGS_stats_out);
  o.decisions_out = absl::GetFlag(FLAGS_decisions_out);
  o.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  absl::StatusOr<knbench::tracing::TracingSettings> tracing =
      knbench::tracing::TracingSettingsFromFlags();
  if (!tracing.ok()) UsageError(tracing.status().message());
  o.tracing = *std::move(tracing);
  o.labels = Labels(settings);
  o.pods = PodOptionsOrExit(o.labels);
  absl::StatusOr<ls::PodResources> resources = ls::ResolvePodResources(
      {absl::GetFlag(FLAGS_pod_cpu_request), absl::GetFlag(FLAGS_pod_cpu_limit),
       absl::GetFlag(FLAGS_pod_memory_limit)},
      settings);
  if (!resources.ok()) UsageError(resources.status().message());
  o.pod_resources = *std::move(resources);
  o.pod_cgroups = absl::GetFlag(FLAGS_pod_cgroups);
  for (const auto& [flag, value] :
       {std::pair{"--pod-start-delay", o.pods.start_delay},
        std::pair{"--termination-grace", o.pods.termination_grace},
        std::pair{"--shutdown-grace", o.shutdown_grace}}) {
    if (value < absl::ZeroDuration() || value > absl::Hours(1)) {
      UsageError(absl::StrCat(flag, " must be between 0s and 1h"));
    }
  }
  return o;
}

// The pods' log directory: --log-dir, made if missing (as mkdir -p), or a
// new one in $TMPDIR, which is ours to remove at exit. Empty (after one
// error line) if it cannot be made.
struct LogDir {
  std::string path;
  bool temporary = false;
};
LogDir LogDirOrEmpty(const std::string& log_dir) {
  if (!log_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(log_dir, error);
    if (error) {
      UsageError(absl::StrCat("--log-dir: cannot create ", log_dir, ": ",
                              error.message()));
    }
    if (access(log_dir.c_str(), W_OK) != 0) {
      UsageError(
          absl::StrCat("--log-dir: ", log_dir, " is not a writable directory"));
    }
    return {log_dir, false};
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp",
                                     "/local_serving.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    knbench::Logf("error: cannot create a log directory %s", pattern);
    return {};
  }
  return {pattern, true};
}

// A log directory local serving made goes at exit with the pods' logs;
// --log-dir keeps them.
void RemoveTemporary(const LogDir& dir) {
  if (!dir.temporary) return;
  std::error_code error;
  std::filesystem::remove_all(dir.path, error);
  if (error) {
    knbench::Logf("warning: cannot remove %s: %s", dir.path, error.message());
    return;
  }
  knbench::Logf("removed the pods' logs in %s (--log-dir keeps them)",
                dir.path);
}

// The start line's words on the autoscaler.
std::string AutoscalerLine(const ls::ServingOptions& o) {
  if (o.autoscaler_class == am::AutoscalerClass::kHpa) {
    const am::HpaSpec spec = am::MakeHpaSpec(o.hpa);
    const std::string target =
        spec.metric == am::HpaMetric::kCpu
            ? absl::StrCat(spec.target_utilization, "% of ", o.hpa.cpu_request,
                           "m")
            : absl::StrCat(spec.target_average_milli / 1000 >> 20, " MiB");
    return absl::StrCat(
        "hpa ", am::HpaMetricName(spec.metric), " target ", target, ", min ",
        spec.min_replicas, " max ", spec.max_replicas, ", sync every ",
        absl::FormatDuration(o.hpa.sync_period), ", metrics every ",
        absl::FormatDuration(o.hpa.metric_resolution));
  }
  return absl::StrFormat("%s target %.2f per pod, window %s, min %d max %d",
                         am::MetricName(o.config.metric),
                         am::ResolveTarget(o.config).target,
                         absl::FormatDuration(o.config.stable_window),
                         o.config.min_scale, o.config.max_scale);
}

// Runs until SIGTERM/SIGINT, then stops every pod.
int Serve(const ls::ServingOptions& o, knbench::ShutdownSignal& shutdown) {
  ls::LocalServing serving(o);
  if (absl::Status st = serving.Start(); !st.ok()) {
    knbench::Logf("error: %s", st.message());
    return 1;
  }
  // Until here a signal exits at once; the pods die with us (PDEATHSIG).
  shutdown.EnableGracefulStop();
  knbench::Logf(
      "serving %s/%s on %s:%d, metrics on %s:%d; pods run %s (logs in %s); "
      "%s, start delay %s",
      o.labels.namespace_name, o.labels.service_name, o.host,
      serving.grpc_port(), o.host, serving.metrics_port(), o.pods.worker_path,
      o.pods.log_dir, AutoscalerLine(o),
      absl::FormatDuration(o.pods.start_delay));
  shutdown.Wait();
  knbench::Logf("signal %d: stopping (grace %s)", shutdown.signal_number(),
                absl::FormatDuration(o.shutdown_grace));
  serving.Shutdown();
  if (const absl::Status st = serving.OutputStatus(); !st.ok()) {
    knbench::Logf("stopped; an output file is incomplete (%s)", st.message());
    return 1;
  }
  knbench::Logf("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  knbench::ShutdownSignal shutdown;  // First: blocks signals for all threads.
  knbench::InitBinary("local_serving");
  am::SettingFlags setting_flags;
  const std::vector<std::string> positional = knbench::ParseFlagsOrExit(
      argc, argv, "local_serving", kUsage, nullptr, setting_flags.flags());
  if (!positional.empty()) {
    UsageError(
        absl::StrCat("unexpected argument '", positional[0], "' (see --help)"));
  }
  const absl::StatusOr<am::ReportFormat> format = am::RequestedReportFormat();
  if (!format.ok()) UsageError(format.status().message());
  absl::StatusOr<am::FlagSettings> settings =
      am::SettingsFromFlags(setting_flags);
  if (!settings.ok()) UsageError(settings.status().message());
  for (const std::string& note : settings->notes) {
    knbench::Logf("note: %s", note);
  }

  ls::ServingOptions options = ServingOptionsOrExit(*settings);
  if (am::CheckConfigRequested()) {
    return PrintConfig(*settings, options, *format);
  }
  const LogDir log_dir = LogDirOrEmpty(options.pods.log_dir);
  if (log_dir.path.empty()) return 1;
  options.pods.log_dir = log_dir.path;
  const int status = Serve(options, shutdown);  // every pod has exited
  RemoveTemporary(log_dir);
  return status;
}
