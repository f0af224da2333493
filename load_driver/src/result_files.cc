#include "knbench/load_driver/result_files.h"

#include <algorithm>

namespace knbench::load_driver {
namespace {

HttpResponse NotYet() {
  HttpResponse r;
  r.status = 503;
  r.body = "run in progress: results are served once it ends\n";
  return r;
}

}  // namespace

void ResultFiles::Install(HttpServer& http, const std::string& csv_path) {
  http.Handle("/results.csv", [this, csv_path] {
    if (!finished_.load()) return NotYet();
    HttpResponse r = HttpResponse::File(csv_path, "text/csv; charset=utf-8");
    r.on_complete = [this] { Fetched(&csv_fetched_); };
    return r;
  });
  // For readiness probes and scripts that poll: says the run is over
  // without counting as a fetch of either file.
  http.Handle("/done", [this] {
    if (!finished_.load()) return NotYet();
    return HttpResponse{200, "text/plain", "done\n"};
  });
  http.Handle("/summary.json", [this] {
    if (!finished_.load()) return NotYet();
    HttpResponse r;
    r.content_type = "application/json";
    {
      std::lock_guard<std::mutex> lock(mu_);
      r.body = summary_json_;
    }
    r.on_complete = [this] { Fetched(&summary_fetched_); };
    return r;
  });
}

void ResultFiles::Finish(std::string summary_json) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    summary_json_ = std::move(summary_json);
  }
  finished_.store(true);
}

bool ResultFiles::WaitBothFetched(absl::Time deadline,
                                  const std::function<bool()>& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!(csv_fetched_ && summary_fetched_)) {
    if (stop() || absl::Now() >= deadline) return false;
    // Short waits so a signal (which has no hook into this cv) is seen.
    cv_.wait_until(lock, absl::ToChronoTime(std::min(
                             deadline, absl::Now() + absl::Milliseconds(100))));
  }
  return true;
}

void ResultFiles::Fetched(bool* flag) {
  std::lock_guard<std::mutex> lock(mu_);
  *flag = true;
  cv_.notify_all();
}

}  // namespace knbench::load_driver
