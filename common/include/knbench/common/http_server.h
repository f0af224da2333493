#ifndef KNBENCH_COMMON_HTTP_SERVER_H_
#define KNBENCH_COMMON_HTTP_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"

namespace knbench {

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status, std::string content_type, std::string body)
      : status(status),
        content_type(std::move(content_type)),
        body(std::move(body)) {}

  // A response whose body is the file at `path`, streamed from disk: result
  // files can be far larger than anything worth holding in memory.
  static HttpResponse File(std::string path, std::string content_type) {
    HttpResponse response(200, std::move(content_type), "");
    response.file_path = std::move(path);
    return response;
  }

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string file_path;  // When set, replaces `body`.
};

// A small read-only HTTP/1.1 server: GET and HEAD on exact paths, one
// response per connection. It exists for /metrics, /healthz and the driver's
// result files, where a full web framework would only add surface. Malformed
// or slow requests get an error or time out without affecting other clients.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;

  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for GET `path`. May be called before or after Start.
  void Handle(const std::string& path, Handler handler);

  // Binds `address`:`port` (port 0 picks a free one) and starts serving.
  absl::Status Start(const std::string& address, int port);

  // The bound port; valid after a successful Start.
  int port() const { return port_; }

  // Stops accepting and joins the serving threads. Idempotent.
  void Stop();

 private:
  void AcceptLoop();
  void ServeConnection(int fd);
  HttpResponse Dispatch(const std::string& method, const std::string& path);

  std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  int active_connections_ = 0;  // Guarded by mu_.
  std::condition_variable connections_done_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
};

}  // namespace knbench

#endif  // KNBENCH_COMMON_HTTP_SERVER_H_
