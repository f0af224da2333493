#include "knbench/common/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "http_answer.h"
#include "knbench/common/http_request.h"
#include "knbench/common/net.h"

namespace knbench {
namespace {

using http_internal::BodyAnswer;
using http_internal::Error;
using http_internal::FileAnswer;

using SteadyClock = std::chrono::steady_clock;

// Requests are small GETs; anything larger is not a client of ours.
constexpr size_t kMaxRequestBytes = 8192;
// After an error answer the client may still be sending (a body, a huge
// head): its bytes are read and dropped for this long, so that closing does
// not reset the connection before it read the answer.
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr int64_t kSendfileChunk = int64_t{1} << 20;

epoll_event Event(uint32_t events, void* ptr) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = ptr;
  return ev;
}

// One client connection and the state of its current request.
struct Conn {
  enum Phase { kReading, kWriting, kDraining };

  int fd = -1;
  Phase phase = kReading;
  std::string in;  // Received and not yet parsed as a request.
  bool request_started = false;
  SteadyClock::time_point deadline;
  uint32_t events = 0;  // Registered with epoll.

  // The response being written: `out` (head, and body unless a file), then
  // `file_left` bytes of `file_fd` from `file_offset`.
  std::string out;
  size_t out_done = 0;
  int file_fd = -1;
  off_t file_offset = 0;
  int64_t file_left = 0;
  bool close_after = false;
  bool reaches_end = false;  // A GET whose body ends with the resource.
  std::function<void()> on_complete;
};

}  // namespace

// The serving thread: accepts, reads, answers and times out every
// connection with level-triggered epoll.
class HttpServer::Loop {
 public:
  Loop(HttpServer* server, int listen_fd)
      : server_(server),
        options_(server->options_),
        listen_fd_(listen_fd),
        epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
        wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  ~Loop() {
    Stop();
    for (auto& [key, conn] : conns_) Close(conn.get());
    for (int fd : {listen_fd_, epoll_fd_, wake_fd_}) {
      if (fd >= 0) close(fd);
    }
  }

  absl::Status Start() {
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return absl::InternalError(
          absl::StrCat("epoll/eventfd: ", std::strerror(errno)));
    }
    epoll_event listen = Event(EPOLLIN, &listen_fd_);
    epoll_event wake = Event(EPOLLIN, &wake_fd_);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen) != 0 ||
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) {
      return absl::InternalError(
          absl::StrCat("epoll_ctl: ", std::strerror(errno)));
    }
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "http");
    // sendfile() to a client that reset the connection raises SIGPIPE (it
    // has no MSG_NOSIGNAL), whose default action ends the process. Blocked
    // in this thread, the write fails with EPIPE and only that connection
    // closes; the rest of the process keeps its own SIGPIPE handling.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    epoll_event events[64];
    while (!stopping_.load()) {
      const int n = epoll_wait(epoll_fd_, events, 64, TimeoutMs());
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n && !stopping_.load(); ++i) {
        void* ptr = events[i].data.ptr;
        if (ptr == &wake_fd_) continue;
        if (ptr == &listen_fd_) {
          Accept();
          continue;
        }
        Conn* conn = static_cast<Conn*>(ptr);
        if (conn->fd < 0) continue;  // Closed earlier in this batch.
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
          Close(conn);
        } else if (conn->phase == Conn::kWriting) {
          Write(conn);
        } else {
          Read(conn);
        }
      }
      ExpireAndCollect();
    }
  }

  // Milliseconds until the nearest deadline (-1: none), rounded up.
  int TimeoutMs() const {
    if (conns_.empty()) return -1;
    SteadyClock::time_point next = SteadyClock::time_point::max();
    for (const auto& [key, conn] : conns_) {
      next = std::min(next, conn->deadline);
    }
    const auto left = next - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) return 0;
    return static_cast<int>(std::min<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(left).count(), 60000));
  }

  // Closes the connections past their deadline and frees closed ones.
  void ExpireAndCollect() {
    const auto now = SteadyClock::now();
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn* conn = it->second.get();
      if (conn->fd >= 0 && conn->deadline <= now) Close(conn);
      if (conn->fd < 0) {
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void Accept() {
    while (true) {
      const int fd =
          accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection that went away.
      if (static_cast<int>(conns_.size()) >= options_.max_connections) {
        static constexpr char kBusy[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n";
        (void)!send(fd, kBusy, sizeof(kBusy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        continue;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      conn->deadline = SteadyClock::now() +
                       absl::ToChronoNanoseconds(options_.request_deadline);
      conn->request_started = true;  // The deadline runs from the connect.
      epoll_event ev = Event(EPOLLIN, conn.get());
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        continue;
      }
      conn->events = EPOLLIN;
      Conn* key = conn.get();
      conns_.emplace(key, std::move(conn));
    }
  }

  void Read(Conn* conn) {
    char buf[16384];
    bool eof = false;
    while (true) {
      const ssize_t n = recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        if (conn->phase == Conn::kDraining) continue;  // Dropped.
        conn->in.append(buf, static_cast<size_t>(n));
        if (conn->in.size() > kMaxRequestBytes) break;  // Parse says 414/431.
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // 0: the client is done sending; < 0: gone.
      break;
    }
    if (conn->phase == Conn::kDraining) {
      if (eof) Close(conn);
      return;
    }
    Process(conn);
    if (!eof || conn->fd < 0) return;
    if (conn->phase == Conn::kWriting) {
      // Finish the answer, then close; nothing more is read.
      conn->close_after = true;
      SetEvents(conn, EPOLLOUT);
    } else {
      Close(conn);
    }
  }

  // Answers the request at the start of `in` once its head is complete.
  void Process(Conn* conn) {
    if (conn->phase != Conn::kReading || conn->in.empty()) return;
    if (!conn->request_started) {
      conn->request_started = true;
      conn->deadline = SteadyClock::now() +
                       absl::ToChronoNanoseconds(options_.request_deadline);
    }
    HttpHeadParse parse = ParseHttpRequestHead(conn->in, kMaxRequestBytes);
    if (parse.state == HttpHeadParse::kIncomplete) return;
    if (parse.state == HttpHeadParse::kError) {
      conn->in.clear();
      Respond(conn,
              BodyAnswer(Error(parse.error_status, parse.error), {},
                         /*head_only=*/false, /*keep_alive=*/false),
              /*keep_alive=*/false);
      return;
    }
    conn->in.erase(0, parse.length);
    const HttpRequestHead& head = parse.head;
    const bool head_only = head.method == "HEAD";
    // A body is never read: answer, then close rather than parse it.
    const bool keep_alive = head.keep_alive && !head.has_body;
    if (head.method != "GET" && !head_only) {
      Respond(conn,
              BodyAnswer(Error(405, "only GET and HEAD are served"),
                         {{"Allow", "GET, HEAD"}}, head_only,
                         /*keep_alive=*/false),
              /*keep_alive=*/false);
      return;
    }
    Handler handler = server_->Find(head.path);
    HttpResponse response = handler ? handler() : Error(404, "not found");
    Respond(conn,
            response.file_path.empty()
                ? BodyAnswer(std::move(response), {}, head_only, keep_alive)
                : FileAnswer(std::move(response), head.range, head_only,
                             keep_alive),
            keep_alive);
  }

  void Respond(Conn* conn, http_internal::Answer answer, bool keep_alive) {
    conn->out = std::move(answer.out);
    conn->file_fd = answer.file_fd;
    conn->file_offset = answer.file_offset;
    conn->file_left = answer.file_left;
    conn->reaches_end = answer.reaches_end;
    conn->on_complete = std::move(answer.on_complete);
    StartWriting(conn, keep_alive);
  }

  void StartWriting(Conn* conn, bool keep_alive) {
    conn->phase = Conn::kWriting;
    conn->out_done = 0;
    conn->close_after = !keep_alive;
    conn->deadline =
        SteadyClock::now() + absl::ToChronoNanoseconds(options_.write_stall);
    Write(conn);
  }

  // Writes what the socket takes; finishes the response once all is out.
  void Write(Conn* conn) {
    bool progress = false;
    while (true) {
      const bool head = conn->out_done < conn->out.size();
      if (!head && conn->file_left == 0) break;
      const ssize_t n =
          head ? send(conn->fd, conn->out.data() + conn->out_done,
                      conn->out.size() - conn->out_done,
                      MSG_NOSIGNAL | MSG_DONTWAIT)
               : sendfile(conn->fd, conn->file_fd, &conn->file_offset,
                          static_cast<size_t>(std::min<int64_t>(
                              conn->file_left, kSendfileChunk)));
      if (n > 0) {
        if (head) {
          conn->out_done += static_cast<size_t>(n);
        } else {
          conn->file_left -= n;
        }
        progress = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return WaitWritable(conn, progress);
      }
      // The client is gone, or the file shrank (0) or broke: the promised
      // length cannot be sent.
      return Close(conn);
    }
    FinishResponse(conn);
  }

  void WaitWritable(Conn* conn, bool progress) {
    if (progress) {
      conn->deadline =
          SteadyClock::now() + absl::ToChronoNanoseconds(options_.write_stall);
    }
    SetEvents(conn, EPOLLOUT);
  }

  void FinishResponse(Conn* conn) {
    CloseFiles(conn);
    conn->out.clear();
    conn->out.shrink_to_fit();
    if (conn->reaches_end && conn->on_complete) conn->on_complete();
    conn->on_complete = nullptr;
    if (conn->close_after) {
      // FIN now, so the client sees the end of the answer; its remaining
      // bytes are read and dropped until it closes too.
      shutdown(conn->fd, SHUT_WR);
      conn->phase = Conn::kDraining;
      conn->in.clear();
      conn->deadline = SteadyClock::now() + kDrainTime;
      SetEvents(conn, EPOLLIN);
      return;
    }
    conn->phase = Conn::kReading;
    conn->request_started = false;
    conn->deadline =
        SteadyClock::now() + absl::ToChronoNanoseconds(options_.keep_alive);
    SetEvents(conn, EPOLLIN);
    Process(conn);  // A request sent before this answer was read.
  }

  void SetEvents(Conn* conn, uint32_t events) {
    if (conn->events == events) return;
    epoll_event ev = Event(events, conn);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev) == 0) {
      conn->events = events;
    } else {
      Close(conn);
    }
  }

  static void CloseFiles(Conn* conn) {
    if (conn->file_fd >= 0) close(conn->file_fd);
    conn->file_fd = -1;
    conn->file_left = 0;
  }

  // Closes the socket at once; the entry is freed after the event batch.
  void Close(Conn* conn) {
    if (conn->fd < 0) return;
    CloseFiles(conn);
    // Out of the epoll set first: close() alone leaves the socket there
    // while a forked child (local serving's pods, until they exec) holds a
    // copy of it, and epoll would report events for a freed connection.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
    close(conn->fd);
    conn->fd = -1;
    conn->deadline = SteadyClock::time_point::min();
  }

  HttpServer* const server_;
  const HttpServerOptions options_;
  int listen_fd_;
  int epoll_fd_;
  int wake_fd_;
  // Keyed by address: a closed connection stays until the end of its event
  // batch, and its fd number may meanwhile be reused by a new one.
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;  // Loop thread.
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

HttpServer::HttpServer(HttpServerOptions options) : options_(options) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handlers_[path] = std::move(handler);
}

HttpServer::Handler HttpServer::Find(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handlers_.find(path);
  return it == handlers_.end() ? Handler() : it->second;
}

absl::Status HttpServer::Start(const std::string& address, int port) {
  if (loop_ != nullptr) return absl::FailedPreconditionError("started");
  if (absl::Status status = CheckBindAddress(address, "listen address");
      !status.ok()) {
    return status;
  }
  const std::string where = JoinHostPort(address, port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* info = nullptr;
  if (getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints,
                  &info) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", where, ": not a numeric address"));
  }
  const int fd =
      socket(info->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    // A port whose last server left connections in TIME_WAIT is free; one
    // with a listener is not (no SO_REUSEPORT).
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, info->ai_addr, info->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
      err = errno;
    }
  }
  freeaddrinfo(info);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (err == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    err = errno;
  }
  if (err != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", std::strerror(err)));
  }
  port_ = ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  loop_ = std::make_unique<Loop>(this, fd);
  if (absl::Status status = loop_->Start(); !status.ok()) {
    loop_.reset();
    return status;
  }
  return absl::OkStatus();
}

void HttpServer::Stop() { loop_.reset(); }

}  // namespace knbench
