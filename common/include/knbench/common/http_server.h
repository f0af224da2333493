#ifndef KNBENCH_COMMON_HTTP_SERVER_H_
#define KNBENCH_COMMON_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace knbench {

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status, std::string content_type, std::string body)
      : status(status),
        content_type(std::move(content_type)),
        body(std::move(body)) {}

  // A response whose body is the file at `path`, streamed from disk: result
  // files can be far larger than anything worth holding in memory. File
  // responses honour a single-range Range header (206), so an interrupted
  // download can resume.
  static HttpResponse File(std::string path, std::string content_type) {
    HttpResponse response(200, std::move(content_type), "");
    response.file_path = std::move(path);
    return response;
  }

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string file_path;  // When set, replaces `body`.
  // Called once a GET has written the body, or the file up to its last
  // byte, to the client: never for HEAD, nor for a download cut short.
  std::function<void()> on_complete;
};

// Limits of an HttpServer. The defaults are what the metrics ports serve
// with; see docs/load_driver.md ("The metrics port").
struct HttpServerOptions {
  // Connections held at once. All are served by one thread that waits on
  // every socket at once (epoll), so a connection costs a few kilobytes, not
  // a thread. With all held, a new connection takes the place of the one
  // that has waited longest for a request, of the client address holding
  // the most; with every one being answered, it gets 503 and is closed.
  int max_connections = 600;
  // Connections one client address holds at once (an IPv4-mapped IPv6
  // address counts as the IPv4 one). One more from it takes the place of its
  // own that has waited longest for a request, or gets 503 if all of them
  // are being answered. So a client that keeps more partial requests open
  // than the server holds, and reopens them as they drop, pushes out only
  // its own, while scrapes and probes, from its address too, get answers.
  int max_connections_per_address = 100;
  // A request's head must arrive whole within this time of the connection
  // (or of the previous response): a client that trickles its headers is
  // cut off however steadily it sends.
  absl::Duration request_deadline = absl::Seconds(5);
  // How long an idle keep-alive connection is kept for its next request.
  absl::Duration keep_alive = absl::Seconds(10);
  // A response must make progress within this time: a client that stops
  // reading is cut off.
  absl::Duration write_stall = absl::Seconds(5);
};

// A small read-only HTTP/1.1 server for /metrics, /healthz and the driver's
// result files: GET and HEAD on exact paths, keep-alive, Range on files.
// One thread serves every connection with non-blocking sockets (epoll), and
// runs the handlers: they must answer quickly (render a page, name a file),
// never wait. Files are streamed with sendfile as the client reads them.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;

  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for GET `path`. May be called before or after Start.
  void Handle(const std::string& path, Handler handler);

  // Listens on `address` (a numeric IPv4 or IPv6 address) and `port` (0
  // picks a free one) and starts serving.
  absl::Status Start(const std::string& address, int port);

  // The bound port; valid after a successful Start.
  int port() const { return port_; }

  // Stops accepting, closes the connections and joins the serving thread,
  // so no handler runs once it returns. Prompt whatever the clients do.
  // Idempotent.
  void Stop();

 private:
  class Loop;
  friend class Loop;
  // The handler registered for `path`, or an empty function.
  Handler Find(const std::string& path);

  const HttpServerOptions options_;
  std::mutex mu_;
  std::map<std::string, Handler> handlers_;  // Guarded by mu_.
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
};

}  // namespace knbench

#endif  // KNBENCH_COMMON_HTTP_SERVER_H_
