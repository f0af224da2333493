// The exporter's HTTP client: one libcurl handle, used by the exporting
// thread only, so that a connection to the collector is kept alive.
//
// libcurl is loaded (dlopen) when the first client is made, not linked:
// linked, it and the 30 libraries it needs made every worker start 5 ms
// slower and 5.7 MiB larger (9.9 ms to the open gRPC port instead of 4.4),
// tracing or not, and pods start often.
#ifndef KNBENCH_TRACING_SRC_OTLP_HTTP_H_
#define KNBENCH_TRACING_SRC_OTLP_HTTP_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace knbench::tracing {

struct CurlApi;

class OtlpHttpClient {
 public:
  // An error says libcurl could not be loaded.
  static absl::StatusOr<std::unique_ptr<OtlpHttpClient>> Create(
      std::string url);
  ~OtlpHttpClient();
  OtlpHttpClient(const OtlpHttpClient&) = delete;
  OtlpHttpClient& operator=(const OtlpHttpClient&) = delete;

  // POSTs `json` (Content-Type: application/json); OK on a 2xx answer
  // within `timeout`.
  absl::Status Post(const std::string& json, absl::Duration timeout);

 private:
  OtlpHttpClient(const CurlApi* api, std::string url);

  const CurlApi* const api_;
  const std::string url_;
  void* curl_;     // CURL*
  void* headers_;  // curl_slist*
};

}  // namespace knbench::tracing

#endif  // KNBENCH_TRACING_SRC_OTLP_HTTP_H_
