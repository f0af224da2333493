#ifndef KNBENCH_LOAD_DRIVER_RESULT_FILES_H_
#define KNBENCH_LOAD_DRIVER_RESULT_FILES_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "knbench/common/http_server.h"

namespace knbench::load_driver {

// After the run, serves /results.csv and /summary.json and remembers which
// were fetched, for --linger: a file counts once a GET has sent it to its
// end (a HEAD, or a download cut short, does not). Until then both answer
// 503; /done says the run is over without counting as a fetch.
class ResultFiles {
 public:
  // Must outlive `http`'s serving (its handlers use this object).
  void Install(HttpServer& http, const std::string& csv_path);
  // The run is over: both files may be served.
  void Finish(std::string summary_json);
  // Waits until both files were fetched, `deadline`, or `stop()`.
  bool WaitBothFetched(absl::Time deadline, const std::function<bool()>& stop);

 private:
  void Fetched(bool* flag);

  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string summary_json_;
  bool csv_fetched_ = false;
  bool summary_fetched_ = false;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_RESULT_FILES_H_
