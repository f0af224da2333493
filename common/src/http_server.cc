#include "knbench/common/http_server.h"

#include <civetweb.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "knbench/common/net.h"

namespace knbench {
namespace {

// Requests are small GETs; anything larger is not a client of ours.
constexpr int kMaxRequestBytes = 8192;
constexpr size_t kFileChunk = 64 * 1024;

void InitCivetweb() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

// civetweb reports each client's misbehaviour (timeouts, bad requests) on
// stderr; those are the clients' problem, not lines for our logs.
int QuietLog(const mg_connection*, const char*) { return 1; }

HttpResponse Error(int status, absl::string_view message) {
  return HttpResponse{status, "text/plain; charset=utf-8",
                      absl::StrCat(message, "\n")};
}

// Sends the status line and headers; false if the client is gone.
bool SendHead(mg_connection* conn, int status, const std::string& content_type,
              int64_t length,
              const std::vector<std::pair<std::string, std::string>>& extra) {
  if (mg_response_header_start(conn, status) != 0) return false;
  mg_response_header_add(conn, "Content-Type", content_type.c_str(), -1);
  const std::string length_text = std::to_string(length);
  mg_response_header_add(conn, "Content-Length", length_text.c_str(), -1);
  for (const auto& [name, value] : extra) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  return mg_response_header_send(conn) == 0;
}

bool WriteAll(mg_connection* conn, const char* data, size_t size) {
  return size == 0 || mg_write(conn, data, size) == static_cast<int>(size);
}

// The byte range a Range header asks of a file of `size` bytes. Only a
// single range is honoured (RFC 9110 allows ignoring the header, and
// serving the whole file, for anything else).
struct ByteRange {
  enum Kind { kWhole, kPartial, kUnsatisfiable } kind = kWhole;
  int64_t first = 0;
  int64_t last = -1;  // Inclusive.
};

ByteRange ParseRange(const char* header, int64_t size) {
  ByteRange range;
  range.last = size - 1;
  absl::string_view spec = header == nullptr ? "" : header;
  spec = absl::StripAsciiWhitespace(spec);
  if (!absl::ConsumePrefix(&spec, "bytes=") || absl::StrContains(spec, ',')) {
    return range;
  }
  const size_t dash = spec.find('-');
  if (dash == absl::string_view::npos) return range;
  const absl::string_view from =
      absl::StripAsciiWhitespace(spec.substr(0, dash));
  const absl::string_view to =
      absl::StripAsciiWhitespace(spec.substr(dash + 1));
  int64_t a = 0, b = 0;
  if (from.empty()) {  // "-N": the last N bytes.
    if (!absl::SimpleAtoi(to, &b) || b < 0) return range;
    if (b == 0 || size == 0) return {ByteRange::kUnsatisfiable, 0, -1};
    return {ByteRange::kPartial, std::max<int64_t>(0, size - b), size - 1};
  }
  if (!absl::SimpleAtoi(from, &a) || a < 0) return range;
  if (to.empty()) {
    b = size - 1;
  } else if (!absl::SimpleAtoi(to, &b) || b < a) {
    return range;
  }
  if (a >= size) return {ByteRange::kUnsatisfiable, 0, -1};
  return {ByteRange::kPartial, a, std::min(b, size - 1)};
}

// Streams `response.file_path`, or the range asked for. True once the
// file's last byte was written.
bool SendFile(mg_connection* conn, const HttpResponse& response,
              bool head_only) {
  const int fd = open(response.file_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || fstat(fd, &info) != 0) {
    const HttpResponse error =
        Error(500, absl::StrCat("cannot read ", response.file_path, ": ",
                                std::strerror(errno)));
    if (fd >= 0) close(fd);
    if (SendHead(conn, error.status, error.content_type,
                 static_cast<int64_t>(error.body.size()), {}) &&
        !head_only) {
      WriteAll(conn, error.body.data(), error.body.size());
    }
    return false;
  }
  const int64_t size = info.st_size;
  const ByteRange range = ParseRange(mg_get_header(conn, "Range"), size);
  std::vector<std::pair<std::string, std::string>> extra = {
      {"Accept-Ranges", "bytes"}};
  if (range.kind == ByteRange::kUnsatisfiable) {
    extra.emplace_back("Content-Range", absl::StrCat("bytes */", size));
    SendHead(conn, 416, response.content_type, 0, extra);
    close(fd);
    return false;
  }
  const int64_t length = range.last - range.first + 1;
  int status = response.status;
  if (range.kind == ByteRange::kPartial) {
    status = 206;
    extra.emplace_back("Content-Range", absl::StrCat("bytes ", range.first, "-",
                                                     range.last, "/", size));
  }
  bool complete = false;
  if (SendHead(conn, status, response.content_type, length, extra) &&
      !head_only) {
    // Exactly the announced length, even if the file grows meanwhile.
    std::vector<char> buf(kFileChunk);
    int64_t offset = range.first;
    int64_t left = length;
    while (left > 0) {
      const ssize_t n = pread(
          fd, buf.data(),
          static_cast<size_t>(std::min<int64_t>(left, kFileChunk)), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !WriteAll(conn, buf.data(), static_cast<size_t>(n))) break;
      offset += n;
      left -= n;
    }
    complete = left == 0 && range.last == size - 1;
  }
  close(fd);
  return complete;
}

// Opens and drops a connection to address:port, which wakes a listener
// blocked in poll.
void WakeListener(const std::string& address, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* info = nullptr;
  if (getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints,
                  &info) != 0) {
    return;
  }
  const int fd =
      socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0) {
    (void)connect(fd, info->ai_addr, info->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(info);
}

}  // namespace

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handlers_[path] = std::move(handler);
}

absl::Status HttpServer::Start(const std::string& address, int port) {
  if (context_ != nullptr) return absl::FailedPreconditionError("started");
  if (absl::Status status = CheckBindAddress(address, "listen address");
      !status.ok()) {
    return status;
  }
  InitCivetweb();
  const std::string listen = JoinHostPort(address, port);
  const std::string threads = std::to_string(options_.max_connections);
  const std::string request_ms =
      std::to_string(absl::ToInt64Milliseconds(options_.request_deadline));
  const std::string keep_alive_ms =
      std::to_string(absl::ToInt64Milliseconds(options_.keep_alive));
  const std::string max_request = std::to_string(kMaxRequestBytes);
  const char* config[] = {"listening_ports",
                          listen.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "request_timeout_ms",
                          request_ms.c_str(),
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          keep_alive_ms.c_str(),
                          "max_request_size",
                          max_request.c_str(),
                          "enable_directory_listing",
                          "no",
                          "tcp_nodelay",
                          "1",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = QuietLog;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = config;
  char error_text[256] = "";
  mg_error_data error{};
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  context_ = mg_start2(&init, &error);
  if (context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", error_text));
  }
  address_ = address;
  mg_server_port bound[1];
  if (mg_get_server_ports(context_, 1, bound) < 1) {
    mg_stop(context_);
    context_ = nullptr;
    return absl::InternalError(absl::StrCat("no port bound for ", listen));
  }
  port_ = bound[0].port;
  // One handler for every path: ours maps exact paths (and answers 404 and
  // 405 itself), so handlers can be added after Start.
  mg_set_request_handler(context_, "/", &HttpServer::Serve, this);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (context_ == nullptr) return;
  // mg_stop waits for civetweb's listening thread, which polls in quanta of
  // 2 s; connecting to ourselves ends that wait at once. Connections being
  // served end on their own within the same quantum.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    const std::string target = address_ == "0.0.0.0"
                                   ? "127.0.0.1"
                                   : (address_ == "::" ? "::1" : address_);
    while (!stopped.load()) {
      WakeListener(target, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(context_);
  stopped.store(true);
  waker.join();
  context_ = nullptr;
}

int HttpServer::Serve(mg_connection* conn, void* self) {
  return static_cast<HttpServer*>(self)->Serve(conn);
}

int HttpServer::Serve(mg_connection* conn) {
  const mg_request_info* request = mg_get_request_info(conn);
  const absl::string_view method =
      request->request_method ? request->request_method : "";
  const bool head_only = method == "HEAD";
  HttpResponse response;
  std::vector<std::pair<std::string, std::string>> extra;
  if (method != "GET" && !head_only) {
    response = Error(405, "only GET and HEAD are served");
    extra.emplace_back("Allow", "GET, HEAD");
  } else {
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = handlers_.find(request->local_uri ? request->local_uri : "");
      if (it != handlers_.end()) handler = it->second;
    }
    response = handler ? handler() : Error(404, "not found");
  }
  bool complete = false;
  if (!response.file_path.empty()) {
    complete = SendFile(conn, response, head_only);
  } else if (SendHead(conn, response.status, response.content_type,
                      static_cast<int64_t>(response.body.size()), extra) &&
             !head_only) {
    complete = WriteAll(conn, response.body.data(), response.body.size());
  }
  if (complete && response.on_complete) response.on_complete();
  return response.status;
}

}  // namespace knbench
