#include "otlp_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace knbench::tracing {
namespace {

// curl_global_init once per process, before the first handle.
void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The collector's answer is not needed: read and forget it.
size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

OtlpHttpClient::OtlpHttpClient(std::string url) : url_(std::move(url)) {
  InitCurl();
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  // No SIGALRM for timeouts: other threads of ours must not see signals.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_ = curl;
  headers_ = headers;
}

OtlpHttpClient::~OtlpHttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

absl::Status OtlpHttpClient::Post(const std::string& json,
                                  absl::Duration timeout) {
  CURL* curl = static_cast<CURL*>(curl_);
  // At least 1 ms: 0 would mean "no timeout" to libcurl.
  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(timeout));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(json.size()));
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url_, ": ", curl_easy_strerror(code)));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url_, ": HTTP status ", status));
  }
  return absl::OkStatus();
}

}  // namespace knbench::tracing
