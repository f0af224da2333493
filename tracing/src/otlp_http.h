// The exporter's HTTP client: one libcurl handle, used by the exporting
// thread only, so that a connection to the collector is kept alive.
#ifndef KNBENCH_TRACING_SRC_OTLP_HTTP_H_
#define KNBENCH_TRACING_SRC_OTLP_HTTP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace knbench::tracing {

class OtlpHttpClient {
 public:
  explicit OtlpHttpClient(std::string url);
  ~OtlpHttpClient();
  OtlpHttpClient(const OtlpHttpClient&) = delete;
  OtlpHttpClient& operator=(const OtlpHttpClient&) = delete;

  // POSTs `json` (Content-Type: application/json); OK on a 2xx answer
  // within `timeout`.
  absl::Status Post(const std::string& json, absl::Duration timeout);

 private:
  const std::string url_;
  void* curl_;     // CURL*
  void* headers_;  // curl_slist*
};

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_SRC_OTLP_HTTP_H_
