// The router's thread: one epoll loop over the listener, every client's and
// pod's connection, the tasks other threads post and one timer (deadlines,
// the sweep of late messages, the abort).
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/h2_output.h"
#include "knbench/common/net.h"
#include "knbench/local_serving/router.h"
#include "router_call.h"

namespace knbench::local_serving {
namespace {

// How often calls whose message is late are looked for.
constexpr absl::Duration kSweepInterval = absl::Seconds(1);
// Our receive windows, so that a request or an answer never waits for a
// WINDOW_UPDATE: a stream's, and the connection's.
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 1 << 24;
// How long Stop leaves the last answers to go out.
constexpr absl::Duration kLastAnswers = absl::Seconds(1);

Clock* DefaultClock() {
  static SteadyClock* clock = new SteadyClock;  // never destroyed
  return clock;
}

void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// A numeric address's socket address; false if it is not one.
bool Resolve(const std::string& host, const std::string& port, bool passive,
             sockaddr_storage* out, socklen_t* len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* info = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &info) != 0) return false;
  std::memcpy(out, info->ai_addr, info->ai_addrlen);
  *len = info->ai_addrlen;
  freeaddrinfo(info);
  return true;
}

bool NoCalls(int64_t* live_calls) { return *live_calls == 0; }

// A client's session keeps no closed streams. nghttp2 keeps them by
// default for RFC 7540's priority tree, up to the stream limit; with that
// (and priorities, which the settings turn off) a run at 5 000 RPS had a
// p50 of 266 ms through the router and 1.8 s stalls, against 195 us
// without (docs/bench.md).
nghttp2_option* ServerOptions() {
  static nghttp2_option* options = [] {
    nghttp2_option* o = nullptr;
    nghttp2_option_new(&o);
    nghttp2_option_set_no_closed_streams(o, 1);
    return o;
  }();
  return options;
}

}  // namespace

Router::Router(RouterOptions options, SecondStats* stats,
               RouterObserver* observer, Clock* clock)
    : options_(options),
      stats_(stats),
      observer_(observer),
      clock_(clock != nullptr ? clock : DefaultClock()),
      server_callbacks_(Callbacks::ForClients()),
      client_callbacks_(Callbacks::ForPods()),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      timer_fd_(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)) {
  for (int* fd : {&wake_fd_, &timer_fd_}) {
    epoll_event ev = EpollEvent(EPOLLIN, fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, *fd, &ev);
  }
}

Router::~Router() {
  Stop();
  // Never started: what Listen and AddPod opened is closed here.
  while (!conns_.empty()) Drop(conns_.begin()->first);
  graveyard_.clear();
  for (int fd : {listen_fd_, wake_fd_, timer_fd_, epoll_fd_}) {
    if (fd >= 0) close(fd);
  }
  nghttp2_session_callbacks_del(server_callbacks_);
  nghttp2_session_callbacks_del(client_callbacks_);
}

absl::StatusOr<int> Router::Listen(const std::string& host, int port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!Resolve(host, std::to_string(port), true, &addr, &len)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve ", host));
  }
  const int fd =
      socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", JoinHostPort(host, port), ": ", why));
  }
  len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  listen_fd_ = fd;
  epoll_event ev = EpollEvent(EPOLLIN, &listen_fd_);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  return ntohs(addr.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void Router::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_) return;
    started_ = true;
  }
  next_sweep_ = absl::Now() + kSweepInterval;
  thread_ = std::thread([this] { Run(); });
}

void Router::Post(std::function<void()> task) {
  {
    absl::MutexLock lock(&posted_mu_);
    posted_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void Router::RunPosted() {
  std::vector<std::function<void()>> tasks;
  {
    absl::MutexLock lock(&posted_mu_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void Router::Run() {
  epoll_event events[64];
  while (true) {
    FlushAll();
    graveyard_.clear();
    {
      absl::MutexLock lock(&posted_mu_);
      if (quit_ && posted_.empty()) return;
    }
    // Armed again only for an earlier wake-up: one that comes early (its
    // call answered) finds nothing due and arms the next. Each call's
    // deadline would otherwise cost a timerfd_settime.
    const absl::Time wake = NextTimer();
    if (wake < armed_) {
      itimerspec spec{};
      if (wake != absl::InfiniteFuture()) {
        spec.it_value = absl::ToTimespec(
            std::max(wake, absl::UnixEpoch() + absl::Nanoseconds(1)));
      }
      timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
      armed_ = wake;
    }
    const int n = epoll_wait(epoll_fd_, events, 64, -1);
    // Tasks first: one posted before a client sent is older than its call.
    RunPosted();
    for (int i = 0; i < n; ++i) {
      void* ptr = events[i].data.ptr;
      if (ptr == &wake_fd_) {
        uint64_t count = 0;
        (void)!read(wake_fd_, &count, sizeof(count));
      } else if (ptr == &timer_fd_) {
        uint64_t count = 0;
        (void)!read(timer_fd_, &count, sizeof(count));
        armed_ = absl::InfiniteFuture();
        OnTimer();
      } else if (ptr == &listen_fd_) {
        Accept();
      } else {
        OnConnEvent(static_cast<Conn*>(ptr), events[i].events);
      }
    }
  }
}

absl::Time Router::NextTimer() {
  absl::Time next = std::min(next_sweep_, abort_at_);
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  return next;
}

void Router::OnTimer() {
  const absl::Time now = absl::Now();
  if (now >= abort_at_) {
    abort_at_ = absl::InfiniteFuture();
    Abort();
  }
  ExpireDeadlines(now);
  if (now >= next_sweep_) {
    next_sweep_ = now + kSweepInterval;
    Sweep();
  }
}

void Router::Accept() {
  while (true) {
    const int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or out of descriptors: the next wake-up
    SetNoDelay(fd);
    auto conn = std::make_unique<Conn>();
    conn->router = this;
    conn->fd = fd;
    conn->connected = true;
    nghttp2_session_server_new2(&conn->h2, server_callbacks_, conn.get(),
                                ServerOptions());
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
         static_cast<uint32_t>(std::min<int64_t>(
             options_.queue_depth + kStreamsAboveQueueDepth, INT32_MAX))},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1}};
    nghttp2_submit_settings(conn->h2, NGHTTP2_FLAG_NONE, settings, 3);
    nghttp2_session_set_local_window_size(conn->h2, NGHTTP2_FLAG_NONE, 0,
                                          kConnectionWindow);
    conn->events = EPOLLIN;
    epoll_event ev = EpollEvent(conn->events, conn.get());
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    Conn* raw = conn.get();
    conns_.emplace(raw, std::move(conn));
  }
}

Router::Conn* Router::Dial(Pod* pod) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int fd = -1;
  if (Resolve(pod->host, pod->port, false, &addr, &len)) {
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 &&
        errno != EINPROGRESS) {
      close(fd);
      fd = -1;
    }
  }
  if (fd < 0) return nullptr;
  SetNoDelay(fd);
  auto conn = std::make_unique<Conn>();
  conn->router = this;
  conn->fd = fd;
  conn->pod = pod;
  conn->to_pod = true;
  nghttp2_session_client_new(&conn->h2, client_callbacks_, conn.get());
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(conn->h2, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(conn->h2, NGHTTP2_FLAG_NONE, 0,
                                        kConnectionWindow);
  conn->events = EPOLLIN | EPOLLOUT;  // EPOLLOUT: the connect completing
  epoll_event ev = EpollEvent(conn->events, conn.get());
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  Conn* raw = conn.get();
  conns_.emplace(raw, std::move(conn));
  return raw;
}

void Router::OnConnEvent(Conn* conn, uint32_t events) {
  if (conn->dead) return;
  if (!conn->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Drop(conn);
      return;
    }
    conn->connected = true;
  }
  if (events & EPOLLOUT) {
    if (!Flush(conn)) return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Read(conn);
}

void Router::Read(Conn* conn) {
  char buf[65536];
  while (!conn->dead) {
    const ssize_t n = recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      const ssize_t used = nghttp2_session_mem_recv(
          conn->h2, reinterpret_cast<const uint8_t*>(buf),
          static_cast<size_t>(n));
      if (used < 0) {
        Drop(conn);
        return;
      }
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Drop(conn);  // closed, or broken
    return;
  }
}

bool Router::Flush(Conn* conn) {
  if (conn->dead) return false;
  if (!conn->connected) return true;
  int h2_error = 0;
  const H2Flush flushed = FlushH2(conn->h2, conn->fd, &conn->out, &h2_error);
  if (flushed == H2Flush::kSessionError || flushed == H2Flush::kSocketError) {
    Drop(conn);
    return false;
  }
  const uint32_t events = conn->out.Pending() ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  if (events != conn->events) {
    epoll_event ev = EpollEvent(events, conn);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev);
    conn->events = events;
  }
  // Both sides are done with it (GOAWAY, every stream closed).
  if (!nghttp2_session_want_read(conn->h2) &&
      !nghttp2_session_want_write(conn->h2) && conn->out.Empty()) {
    Drop(conn);
    return false;
  }
  return true;
}

void Router::FlushAll() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn* conn = (it++)->first;  // Flush may move it to the graveyard
    Flush(conn);
  }
}

void Router::Drop(Conn* conn) {
  if (conn->dead) return;
  conn->dead = true;
  // nghttp2 forgets its streams with the session, without a callback: each
  // ends here as a lost connection ends it.
  const std::unordered_set<Call*> calls = std::move(conn->calls);
  conn->calls.clear();
  for (Call* call : calls) {
    if (conn->to_pod) {
      call->up = nullptr;
      Release(call, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "local_serving: the pod's connection broke"));
    } else {
      call->client_closed = true;
      if (!call->answer_sent) Cancel(call);
    }
    MaybeRetire(call);
  }
  if (conn->pod != nullptr && conn->pod->conn == conn)
    conn->pod->conn = nullptr;
  // Out of the epoll set before close(): a pod being started may hold a
  // copy of the fd between its fork and its exec (CLOEXEC closes it only
  // then), and while any copy is open close() leaves the registration in
  // place, so epoll would name this Conn after it is freed.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
  close(conn->fd);
  conn->fd = -1;
  nghttp2_session_del(conn->h2);
  conn->h2 = nullptr;
  auto it = conns_.find(conn);
  if (it != conns_.end()) {
    graveyard_.push_back(std::move(it->second));
    conns_.erase(it);
  }
}

void Router::GoAway() {
  if (going_away_) return;
  going_away_ = true;
  if (listen_fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);  // See Drop.
    close(listen_fd_);
    listen_fd_ = -1;
  }
  for (auto& [conn, owned] : conns_) {
    if (conn->to_pod) continue;
    nghttp2_submit_goaway(conn->h2, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(conn->h2),
                          NGHTTP2_NO_ERROR, nullptr, 0);
  }
}

void Router::AbortAt(absl::Time deadline) {
  Post([this, deadline] { abort_at_ = std::min(abort_at_, deadline); });
}

void Router::Drain(absl::Time deadline) {
  Post([this] { GoAway(); });
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&NoCalls, &live_calls_), deadline);
}

void Router::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
  }
  Post([this] {
    GoAway();
    Abort();
  });
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&NoCalls, &live_calls_), kLastAnswers);
  }
  Post([this] {
    while (!conns_.empty()) Drop(conns_.begin()->first);
  });
  {
    absl::MutexLock lock(&posted_mu_);
    quit_ = true;
  }
  Post([] {});
  thread_.join();
}

}  // namespace knbench::local_serving
