#include "otlp_http.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace knbench::tracing {

// The libcurl functions we call, from the library loaded at run time
// (libcurl4's soname; its ABI has been stable since 2006).
struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

namespace {

constexpr char kLibcurl[] = "libcurl.so.4";

template <typename F>
bool Resolve(void* library, const char* name, F* f) {
  *f = reinterpret_cast<F>(dlsym(library, name));
  return *f != nullptr;
}

// Loads libcurl once per process (never unloaded) and initialises it.
absl::StatusOr<const CurlApi*> LoadCurl() {
  static CurlApi api;
  static absl::Status status;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = dlopen(kLibcurl, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "--otlp-endpoint needs libcurl (Debian's libcurl4): ", dlerror()));
      return;
    }
    if (!Resolve(lib, "curl_global_init", &api.global_init) ||
        !Resolve(lib, "curl_easy_init", &api.easy_init) ||
        !Resolve(lib, "curl_easy_setopt", &api.easy_setopt) ||
        !Resolve(lib, "curl_easy_perform", &api.easy_perform) ||
        !Resolve(lib, "curl_easy_getinfo", &api.easy_getinfo) ||
        !Resolve(lib, "curl_easy_strerror", &api.easy_strerror) ||
        !Resolve(lib, "curl_easy_cleanup", &api.easy_cleanup) ||
        !Resolve(lib, "curl_slist_append", &api.slist_append) ||
        !Resolve(lib, "curl_slist_free_all", &api.slist_free_all)) {
      status = absl::FailedPreconditionError(
          absl::StrCat(kLibcurl, " lacks a function: ", dlerror()));
      return;
    }
    // Before any handle, while no other thread of ours uses libcurl.
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!status.ok()) return status;
  return &api;
}

// The collector's answer is not needed: read and forget it.
size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

absl::StatusOr<std::unique_ptr<OtlpHttpClient>> OtlpHttpClient::Create(
    std::string url) {
  absl::StatusOr<const CurlApi*> api = LoadCurl();
  if (!api.ok()) return api.status();
  return std::unique_ptr<OtlpHttpClient>(
      new OtlpHttpClient(*api, std::move(url)));
}

OtlpHttpClient::OtlpHttpClient(const CurlApi* api, std::string url)
    : api_(api), url_(std::move(url)) {
  CURL* curl = api_->easy_init();
  api_->easy_setopt(curl, CURLOPT_URL, url_.c_str());
  // No SIGALRM for timeouts: other threads of ours must not see signals.
  api_->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  api_->easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_slist* headers =
      api_->slist_append(nullptr, "Content-Type: application/json");
  api_->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_ = curl;
  headers_ = headers;
}

OtlpHttpClient::~OtlpHttpClient() {
  api_->easy_cleanup(static_cast<CURL*>(curl_));
  api_->slist_free_all(static_cast<curl_slist*>(headers_));
}

absl::Status OtlpHttpClient::Post(const std::string& json,
                                  absl::Duration timeout) {
  CURL* curl = static_cast<CURL*>(curl_);
  // At least 1 ms: 0 would mean "no timeout" to libcurl.
  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(timeout));
  api_->easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  api_->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  api_->easy_setopt(curl, CURLOPT_POSTFIELDS, json.data());
  api_->easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                    static_cast<curl_off_t>(json.size()));
  const CURLcode code = api_->easy_perform(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url_, ": ", api_->easy_strerror(code)));
  }
  long status = 0;
  api_->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url_, ": HTTP status ", status));
  }
  return absl::OkStatus();
}

}  // namespace knbench::tracing
