#include "http_loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/http_request.h"
#include "knbench/common/net.h"

namespace knbench {
namespace {

using http_internal::BodyAnswer;
using http_internal::Error;
using http_internal::FileAnswer;
using http_internal::SteadyClock;

// Requests are small GETs; anything larger is not a client of ours.
constexpr size_t kMaxRequestBytes = 8192;
// After an error answer the client may still be sending (a body, a huge
// head): its bytes are read and dropped for this long, so that closing does
// not reset the connection before it read the answer.
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr int64_t kSendfileChunk = int64_t{1} << 20;
// Connections taken per wake-up: a client that reconnects as fast as it can
// still leaves the loop its turns to read and answer the others.
constexpr int kAcceptBatch = 64;

}  // namespace

HttpServer::Loop::Loop(HttpServer* server, int listen_fd)
    : server_(server),
      options_(server->options_),
      listen_fd_(listen_fd),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      budget_(options_.max_connections, options_.max_connections_per_address) {}

HttpServer::Loop::~Loop() {
  Stop();
  for (auto& [key, conn] : conns_) Close(conn.get());
  for (int fd : {listen_fd_, epoll_fd_, wake_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::Status HttpServer::Loop::Start() {
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return absl::InternalError(
        absl::StrCat("epoll/eventfd: ", std::strerror(errno)));
  }
  epoll_event listen = EpollEvent(EPOLLIN, &listen_fd_);
  epoll_event wake = EpollEvent(EPOLLIN, &wake_fd_);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen) != 0 ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) {
    return absl::InternalError(
        absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void HttpServer::Loop::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

void HttpServer::Loop::Run() {
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
int HttpServer::Loop::TimeoutMs() const {
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
void HttpServer::Loop::ExpireAndCollect() {
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

void HttpServer::Loop::Accept() {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer),
                           &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection that went away.
    const std::string address = http_internal::PeerAddress(peer);
    if (!MakeRoom(address)) {
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
    conn->id = next_id_++;
    conn->deadline = SteadyClock::now() +
                     absl::ToChronoNanoseconds(options_.request_deadline);
    conn->request_started = true;  // The deadline runs from the connect.
    epoll_event ev = EpollEvent(EPOLLIN, conn.get());
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    conn->events = EPOLLIN;
    budget_.Add(conn->id, address);
    conns_.emplace(conn->id, std::move(conn));
  }
}

// Closes what the budget lets go of to admit a connection from `address`;
// false if the new one is to be refused. A connection about to be let go
// is read first if its client has sent something: a request already sent
// is answered (it is then busy, and another makes room), not dropped.
bool HttpServer::Loop::MakeRoom(const std::string& address) {
  while (true) {
    const http_internal::ConnectionBudget::Admission admission =
        budget_.Admit(address);
    if (!admission.evict) return admission.admit;
    Conn* conn = conns_.at(*admission.evict).get();
    int unread = 0;
    if (conn->phase == Conn::kReading &&
        ioctl(conn->fd, FIONREAD, &unread) == 0 && unread > 0) {
      Read(conn);  // Took what was there: if still waiting, closed next.
    } else {
      Close(conn);
    }
  }
}

void HttpServer::Loop::Read(Conn* conn) {
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
void HttpServer::Loop::Process(Conn* conn) {
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
  Respond(
      conn,
      response.file_path.empty()
          ? BodyAnswer(std::move(response), {}, head_only, keep_alive)
          : FileAnswer(std::move(response), head.range, head_only, keep_alive),
      keep_alive);
}

void HttpServer::Loop::Respond(Conn* conn, http_internal::Answer answer,
                               bool keep_alive) {
  conn->out = std::move(answer.out);
  conn->file_fd = answer.file_fd;
  conn->file_offset = answer.file_offset;
  conn->file_left = answer.file_left;
  conn->reaches_end = answer.reaches_end;
  conn->on_complete = std::move(answer.on_complete);
  StartWriting(conn, keep_alive);
}

void HttpServer::Loop::StartWriting(Conn* conn, bool keep_alive) {
  budget_.Busy(conn->id);
  conn->phase = Conn::kWriting;
  conn->out_done = 0;
  conn->close_after = !keep_alive;
  conn->deadline =
      SteadyClock::now() + absl::ToChronoNanoseconds(options_.write_stall);
  Write(conn);
}

// Writes what the socket takes; finishes the response once all is out.
void HttpServer::Loop::Write(Conn* conn) {
  bool progress = false;
  while (true) {
    const bool head = conn->out_done < conn->out.size();
    if (!head && conn->file_left == 0) break;
    const ssize_t n =
        head ? send(conn->fd, conn->out.data() + conn->out_done,
                    conn->out.size() - conn->out_done,
                    MSG_NOSIGNAL | MSG_DONTWAIT)
             : sendfile(conn->fd, conn->file_fd, &conn->file_offset,
                        static_cast<size_t>(std::min<int64_t>(conn->file_left,
                                                              kSendfileChunk)));
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

void HttpServer::Loop::WaitWritable(Conn* conn, bool progress) {
  if (progress) {
    conn->deadline =
        SteadyClock::now() + absl::ToChronoNanoseconds(options_.write_stall);
  }
  SetEvents(conn, EPOLLOUT);
}

void HttpServer::Loop::FinishResponse(Conn* conn) {
  budget_.Waiting(conn->id);
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

void HttpServer::Loop::SetEvents(Conn* conn, uint32_t events) {
  if (conn->events == events) return;
  epoll_event ev = EpollEvent(events, conn);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev) == 0) {
    conn->events = events;
  } else {
    Close(conn);
  }
}

void HttpServer::Loop::CloseFiles(Conn* conn) {
  if (conn->file_fd >= 0) close(conn->file_fd);
  conn->file_fd = -1;
  conn->file_left = 0;
}

// Closes the socket at once; the entry is freed after the event batch.
void HttpServer::Loop::Close(Conn* conn) {
  if (conn->fd < 0) return;
  CloseFiles(conn);
  budget_.Remove(conn->id);
  // Out of the epoll set first: close() alone leaves the socket there
  // while a forked child (local serving's pods, until they exec) holds a
  // copy of it, and epoll would report events for a freed connection.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
  close(conn->fd);
  conn->fd = -1;
  conn->deadline = SteadyClock::time_point::min();
}

}  // namespace knbench
