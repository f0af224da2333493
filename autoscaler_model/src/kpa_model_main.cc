// kpa_model: replays a run through Knative's autoscaling decision: the KPA's
// (the load driver's CSV, or a per-second series; one CSV row per tick) or,
// with --class=hpa, the HorizontalPodAutoscaler's (the pods' metric
// samples; one CSV row per sync).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "knbench/autoscaler_model/config.h"
#include "knbench/autoscaler_model/hpa_controller.h"
#include "knbench/autoscaler_model/hpa_input.h"
#include "knbench/autoscaler_model/hpa_replay.h"
#include "knbench/autoscaler_model/input.h"
#include "knbench/autoscaler_model/settings_flags.h"
#include "knbench/autoscaler_model/settings_report.h"
#include "knbench/autoscaler_model/simulator.h"
#include "knbench/common/flags.h"

ABSL_FLAG(std::string, input, "",
          "Required. KPA: the load driver's CSV (in-flight concurrency and "
          "request rate per second are rebuilt from send and completion "
          "times; dropped rows were never in flight) or a CSV with columns "
          "time_s,value[,ready_pods], detected by the header. HPA: the pods' "
          "metric samples, time_s,pod,cpu_millicores,ready[,memory_bytes,"
          "start_s,ready_since_s] (other columns are ignored).");
ABSL_FLAG(std::string, output, "-",
          "Where to write the decisions' CSV; - = stdout.");
ABSL_FLAG(absl::Duration, pod_start_delay, absl::Seconds(2),
          "KPA: when the input has no ready_pods, a requested pod is ready "
          "this long after the decision (removal is immediate).");
ABSL_FLAG(absl::Duration, extend, absl::ZeroDuration(),
          "KPA: keep deciding this long after the input ends, with no "
          "traffic.");

namespace {

using knbench::autoscaler_model::KpaConfig;
namespace am = knbench::autoscaler_model;

constexpr char kUsage[] =
    "Usage: kpa_model --input RUN.csv [--output MODEL.csv] [settings]\n"
    "       kpa_model --class=hpa --input STATS.csv [--output D.csv] "
    "[settings]\n"
    "       kpa_model --check-config [--format=text|json] [settings]\n"
    "\n"
    "Replays a run through Knative's KPA autoscaling decision (1 s buckets,\n"
    "stable and panic windows, rate limits, panic mode, min/max/initial\n"
    "scale, scale-down delay, scale to zero, excess burst capacity) and\n"
    "writes one CSV row per decision (every tick, and on a poke: traffic\n"
    "reaching a revision whose decider wanted zero pods):\n"
    "  time_s,desired_pods,ready_pods,panic_mode,stable_value,panic_value,\n"
    "  excess_burst_capacity,activator_in_path,decider_pods,poke\n"
    "time_s counts from the input's first second. desired_pods is the scale\n"
    "the KPA applies (after min/max and scale-to-zero rules); decider_pods\n"
    "is the decider's wish before them (Knative's desired_pods metric).\n"
    "local_serving --stats-out writes an input that replays its live\n"
    "decisions (--decisions-out) exactly. Settings use\n"
    "Knative's names and defaults; precedence: flag > --from-manifest >\n"
    "default. Example (what if target were 20?):\n"
    "  kpa_model --input results/SWEEP/results-110rps-100ms.csv --target 20\n"
    "\n"
    "--class=hpa (or the manifest's autoscaling.knative.dev/class) replays\n"
    "the HorizontalPodAutoscaler Knative's HPA class makes instead: the\n"
    "pods' metric samples (one row per pod per sample) through Kubernetes'\n"
    "replica calculation, stabilization and limits, one CSV row per sync\n"
    "(every --horizontal-pod-autoscaler-sync-period from the first sample):\n"
    "  time_s,desired_pods,current_pods,utilization_percent,average_value,\n"
    "  ready_pods,unready_pods,missing_pods,calculation,recommendation,\n"
    "  stabilized,limited_by\n"
    "The cpu metric needs the pods' CPU request (--cpu-request in\n"
    "millicores, or the manifest's resources.requests.cpu). Example:\n"
    "  kpa_model --class=hpa --input stats.csv --cpu-request 500 --target 70\n"
    "\n"
    "--check-config prints the resolved settings (--format=json: one object,\n"
    "see docs/kpa_model.md) and exits; it needs no --input.\n"
    "Exit status: 0 ok, 2 bad flags or input, 1 output error.";

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "kpa_model: " << message << "\n";
  std::exit(2);
}

am::SimulationOptions SimulationOptionsOrExit() {
  am::SimulationOptions options;
  options.pod_start_delay = absl::GetFlag(FLAGS_pod_start_delay);
  options.extend = absl::GetFlag(FLAGS_extend);
  if (options.pod_start_delay < absl::ZeroDuration()) {
    Fail("--pod-start-delay must not be negative");
  }
  if (options.extend < absl::ZeroDuration() ||
      options.extend > absl::Hours(24)) {
    Fail("--extend must be between 0s and 24h");
  }
  return options;
}

// Rows whose excess burst capacity is held at int32's bound look like
// data: one note on stderr says they are not (the CSV stays what a live
// run's --decisions-out holds).
void NoteSaturation(const std::vector<am::TickRow>& rows) {
  int64_t saturated = 0;
  const am::TickRow* first = nullptr;
  for (const am::TickRow& row : rows) {
    if (!row.excess_burst_capacity_saturated) continue;
    ++saturated;
    if (first == nullptr) first = &row;
  }
  if (first == nullptr) return;
  const bool low = first->excess_burst_capacity < 0;
  std::cerr << "kpa_model: note: excess_burst_capacity is "
            << first->excess_burst_capacity << ", the "
            << (low ? "least" : "most")
            << " an int32 holds (Knative's type), in " << saturated << " of "
            << rows.size() << " rows from t=" << first->time_s
            << "s: the true value is " << (low ? "lower" : "higher")
            << " there\n";
}

// The decisions' CSV: the KPA's ticks, or the HPA's syncs.
absl::StatusOr<std::string> ReplayCsv(const am::FlagSettings& settings,
                                      const am::SimulationOptions& options,
                                      std::istream& in) {
  if (settings.autoscaler_class == am::AutoscalerClass::kHpa) {
    absl::StatusOr<am::HpaInput> input = am::ReadHpaSamples(in, settings.hpa);
    if (!input.ok()) return input.status();
    return am::FormatHpaDecisionsCsv(
        am::ReplayHpa(input->samples, settings.hpa));
  }
  absl::StatusOr<am::InputSeries> input = am::ReadInput(in);
  if (!input.ok()) return input.status();
  const KpaConfig& config = settings.config;
  const std::vector<am::TickRow> rows =
      am::Simulate(am::SeriesFor(*input, config.metric), config, options);
  NoteSaturation(rows);
  return am::FormatTicksCsv(rows);
}

// The KPA's own flags given under the hpa class: said, not refused, as
// for the other class's settings.
void NoteKpaOnlyFlags(const am::FlagSettings& settings,
                      const std::set<std::string>& given) {
  if (settings.autoscaler_class != am::AutoscalerClass::kHpa) return;
  for (const auto& [name, flag] :
       {std::pair{"pod_start_delay", "--pod-start-delay"},
        std::pair{"extend", "--extend"}}) {
    if (given.count(name) > 0) {
      std::cerr << "kpa_model: note: " << flag
                << " is not used by the hpa class; ignored\n";
    }
  }
}

// `text` to --output (or stdout); false after one error line.
bool WriteOutput(const std::string& text) {
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output.empty() || output == "-") {
    std::cout << text << std::flush;
    if (std::cout) return true;
    std::cerr << "kpa_model: writing stdout failed\n";
    return false;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (out) return true;
  std::cerr << "kpa_model: cannot write " << output << "\n";
  return false;
}

// --check-config: the report of docs/kpa_model.md, with a "model" section.
int PrintConfig(const am::FlagSettings& settings,
                const am::SimulationOptions& options, am::ReportFormat format) {
  nlohmann::ordered_json report = am::SettingsReport("kpa_model", settings);
  report["model"] = {
      {"input", absl::GetFlag(FLAGS_input)},
      {"output", absl::GetFlag(FLAGS_output)},
      {"pod_start_delay", absl::FormatDuration(options.pod_start_delay)},
      {"extend", absl::FormatDuration(options.extend)}};
  return am::PrintReport(report, format, "model", {}) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  am::SettingFlags setting_flags;
  std::set<std::string> given;
  const std::vector<std::string> positional = knbench::ParseFlagsOrExit(
      argc, argv, "kpa_model", kUsage, &given, setting_flags.flags());
  if (!positional.empty()) Fail("unexpected argument: " + positional[0]);
  const absl::StatusOr<am::ReportFormat> format = am::RequestedReportFormat();
  if (!format.ok()) Fail(std::string(format.status().message()));
  const std::string input_path = absl::GetFlag(FLAGS_input);
  if (input_path.empty() && !am::CheckConfigRequested()) {
    Fail("--input is required (see --help)");
  }

  absl::StatusOr<am::FlagSettings> settings =
      am::SettingsFromFlags(setting_flags);
  if (!settings.ok()) Fail(std::string(settings.status().message()));
  for (const std::string& note : settings->notes) {
    std::cerr << "kpa_model: note: " << note << "\n";
  }
  NoteKpaOnlyFlags(*settings, given);
  const am::SimulationOptions options = SimulationOptionsOrExit();
  if (am::CheckConfigRequested()) {
    return PrintConfig(*settings, options, *format);
  }

  std::ifstream in(input_path, std::ios::binary);
  if (!in) Fail("cannot open input " + input_path);
  const absl::StatusOr<std::string> csv = ReplayCsv(*settings, options, in);
  if (!csv.ok()) Fail(input_path + ": " + std::string(csv.status().message()));
  return WriteOutput(*csv) ? 0 : 1;
}
