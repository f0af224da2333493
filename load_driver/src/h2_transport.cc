#include "knbench/load_driver/h2_transport.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <unordered_set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "knbench/load_driver/config.h"

namespace knbench::load_driver {
namespace {

constexpr char kPath[] = "/load_worker.LoadWorker/InvokeWorker";
constexpr char kUserAgent[] = "knbench-load-driver nghttp2";
// gRPC's default limit on a received message.
constexpr size_t kMaxResponseBytes = size_t{4} << 20;
// Requests queued in a session before it is written without waiting for
// the pacer to pause: a late pacer still sends in batches, not in one lump.
constexpr int kFlushEvery = 32;
// gRPC's reconnect backoff, with the bounds the driver has always used.
constexpr absl::Duration kInitialBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);
constexpr double kBackoffFactor = 1.6;
constexpr double kBackoffJitter = 0.2;
// Our receive windows: answers never wait for a WINDOW_UPDATE.
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 1 << 24;

// grpc::StatusCode values, as the rows record them.
enum Code {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kDeadlineExceeded = 4,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// gRPC's mapping of an HTTP/2 RST_STREAM error to a status.
int CodeForHttp2Error(uint32_t error) {
  switch (error) {
    case NGHTTP2_REFUSED_STREAM:
      return kUnavailable;
    case NGHTTP2_CANCEL:
      return kCancelled;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return kResourceExhausted;
    case NGHTTP2_INADEQUATE_SECURITY:
      return kPermissionDenied;
    default:
      return kInternal;
  }
}

// gRPC's mapping of a non-200 HTTP status without grpc-status.
int CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return kInternal;
    case 401:
      return kUnauthenticated;
    case 403:
      return kPermissionDenied;
    case 404:
      return kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kUnavailable;
    default:
      return kUnknown;
  }
}

// The grpc-timeout header: at most 8 digits and a unit, rounded up.
std::string GrpcTimeout(absl::Duration d) {
  struct Unit {
    absl::Duration size;
    char name;
  };
  for (const Unit& u :
       {Unit{absl::Nanoseconds(1), 'n'}, Unit{absl::Microseconds(1), 'u'},
        Unit{absl::Milliseconds(1), 'm'}, Unit{absl::Seconds(1), 'S'},
        Unit{absl::Minutes(1), 'M'}, Unit{absl::Hours(1), 'H'}}) {
    const int64_t n = absl::ToInt64Nanoseconds(absl::Ceil(d, u.size)) /
                      absl::ToInt64Nanoseconds(u.size);
    if (n <= 99999999) {
      return absl::StrCat(std::max<int64_t>(n, 1), std::string(1, u.name));
    }
  }
  return "99999999H";
}

nghttp2_nv Header(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
          name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

epoll_event Event(uint32_t events, void* ptr) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = ptr;
  return ev;
}

}  // namespace

// One call, from Send to its row; its memory lives on until nghttp2 closes
// its stream (or the session goes), as nghttp2 may still name it.
struct H2Transport::Call {
  Arrival arrival;
  absl::Time intended;
  absl::Time sent;
  absl::Time deadline;
  Session* session = nullptr;
  int32_t stream_id = -1;
  int http_status = 0;
  int grpc_status = -1;
  bool too_big = false;
  bool done = false;     // Its row is recorded.
  std::string data;      // The response's DATA bytes.
  Call* prev = nullptr;  // Send order, while not done.
  Call* next = nullptr;
};

// One connection attempt's socket and HTTP/2 session.
struct H2Transport::Session {
  H2Transport* owner = nullptr;
  Slot* slot = nullptr;  // Null once draining after a GOAWAY.
  int fd = -1;
  nghttp2_session* h2 = nullptr;
  bool connected = false;  // TCP connected.
  bool ready = false;      // The server's SETTINGS arrived.
  bool goaway = false;
  bool dead = false;
  absl::Time attempt_deadline;
  std::string out;  // Frames not yet taken by the socket.
  size_t out_done = 0;
  uint32_t events = 0;
  int unflushed = 0;
  std::unordered_set<Call*> calls;  // Every Call nghttp2 may still name.
};

// One of --connections: its current session, or the wait before the next
// attempt.
struct H2Transport::Slot {
  enum State { kConnecting, kReady, kBackoff } state = kBackoff;
  std::unique_ptr<Session> session;
  absl::Time retry_at = absl::InfinitePast();
  absl::Duration backoff = kInitialBackoff;
  bool started = false;
  bool first_attempt_failed = false;
};

namespace {

struct Callbacks {
  static H2Transport::Call* CallOf(nghttp2_session* h2, int32_t stream_id) {
    return static_cast<H2Transport::Call*>(
        nghttp2_session_get_stream_user_data(h2, stream_id));
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                         void* user) {
    auto* s = static_cast<H2Transport::Session*>(user);
    if (frame->hd.type == NGHTTP2_SETTINGS &&
        !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
      s->ready = true;
    } else if (frame->hd.type == NGHTTP2_GOAWAY) {
      s->goaway = true;
    }
    return 0;
  }

  static int OnHeader(nghttp2_session* h2, const nghttp2_frame* frame,
                      const uint8_t* name, size_t name_len,
                      const uint8_t* value, size_t value_len, uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Transport::Call* call = CallOf(h2, frame->hd.stream_id);
    if (call == nullptr) return 0;
    const absl::string_view n(reinterpret_cast<const char*>(name), name_len);
    const absl::string_view v(reinterpret_cast<const char*>(value), value_len);
    int number = 0;
    if (n == ":status" && absl::SimpleAtoi(v, &number)) {
      call->http_status = number;
    } else if (n == "grpc-status" && absl::SimpleAtoi(v, &number)) {
      call->grpc_status = number;
    }
    return 0;
  }

  static int OnData(nghttp2_session* h2, uint8_t, int32_t stream_id,
                    const uint8_t* data, size_t len, void*) {
    H2Transport::Call* call = CallOf(h2, stream_id);
    if (call == nullptr || call->too_big) return 0;
    if (call->data.size() + len > kMaxResponseBytes + 5) {
      call->too_big = true;
      nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, stream_id,
                                NGHTTP2_CANCEL);
      return 0;
    }
    call->data.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnStreamClose(nghttp2_session* h2, int32_t stream_id,
                           uint32_t error, void* user) {
    auto* s = static_cast<H2Transport::Session*>(user);
    H2Transport::Call* call = CallOf(h2, stream_id);
    if (call == nullptr) return 0;
    s->owner->Closed(s, call, error);
    return 0;
  }

  static ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t* buf,
                             size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void*) {
    // The whole message (a few bytes) in one DATA frame; a window too small
    // for it, which no gRPC server leaves, fails the call rather than
    // send a part of it.
    const auto* message = static_cast<const std::string*>(source->ptr);
    if (length < message->size()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    std::memcpy(buf, message->data(), message->size());
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(message->size());
  }
};

}  // namespace

H2Transport::H2Transport(TransportOptions options, Clock* clock, RowSink* sink,
                         DriverMetrics* metrics)
    : options_(std::move(options)),
      clock_(clock),
      sink_(sink),
      metrics_(metrics),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      timer_fd_(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)) {
  epoll_event timer = Event(EPOLLIN, &timer_fd_);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &timer);
  if (!TargetHostPort(options_.target, &host_, &port_).ok()) {
    host_ = options_.target;  // Fails at the first attempt, as gRPC would.
  }
  authority_ = host_.find(':') == std::string::npos
                   ? absl::StrCat(host_, ":", port_)
                   : absl::StrCat("[", host_, "]:", port_);
  timeout_header_ = GrpcTimeout(options_.timeout);
  load_worker::WorkRequest request;
  request.set_duration_ms(options_.spin_ms);
  const std::string body = request.SerializeAsString();
  const uint32_t n = static_cast<uint32_t>(body.size());
  request_message_ = {'\0', static_cast<char>(n >> 24),
                      static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                      static_cast<char>(n)};
  request_message_ += body;
  nghttp2_session_callbacks_new(&callbacks_);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks_,
                                                       Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_header_callback(callbacks_,
                                                   Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks_,
                                                            Callbacks::OnData);
  nghttp2_session_callbacks_set_on_stream_close_callback(
      callbacks_, Callbacks::OnStreamClose);
  const int n_slots = std::max(1, options_.connections);
  for (int i = 0; i < n_slots; ++i) slots_.push_back(std::make_unique<Slot>());
  headers_ = {{":method", "POST"},
              {":scheme", "http"},
              {":path", kPath},
              {":authority", authority_},
              {"content-type", "application/grpc"},
              {"te", "trailers"},
              {"grpc-timeout", timeout_header_},
              {"user-agent", kUserAgent}};
  for (const auto& [name, value] : headers_) {
    nva_.push_back(Header(name, value));
  }
}

H2Transport::~H2Transport() {
  CancelAll();
  for (auto& slot : slots_) {
    if (slot->session) Drop(slot->session.get(), "the driver is stopping");
  }
  for (auto& s : draining_) Drop(s.get(), "the driver is stopping");
  graveyard_.clear();
  nghttp2_session_callbacks_del(callbacks_);
  if (timer_fd_ >= 0) close(timer_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void H2Transport::StartAttempt(Slot* slot, absl::Time now) {
  slot->started = true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* info = nullptr;
  int fd = -1;
  if (getaddrinfo(host_.c_str(), port_.c_str(), &hints, &info) == 0) {
    fd = socket(info->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, info->ai_addr, info->ai_addrlen) != 0 &&
        errno != EINPROGRESS) {
      close(fd);
      fd = -1;
    }
    freeaddrinfo(info);
  }
  if (fd < 0) {
    Backoff(slot, now);
    return;
  }
  auto s = std::make_unique<Session>();
  s->owner = this;
  s->slot = slot;
  s->fd = fd;
  s->attempt_deadline = now + options_.connect_timeout;
  nghttp2_session_client_new(&s->h2, callbacks_, s.get());
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(s->h2, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(s->h2, NGHTTP2_FLAG_NONE, 0,
                                        kConnectionWindow);
  s->events = EPOLLIN | EPOLLOUT;  // EPOLLOUT: the connect completing.
  epoll_event ev = Event(s->events, s.get());
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  slot->state = Slot::kConnecting;
  slot->session = std::move(s);
}

void H2Transport::Backoff(Slot* slot, absl::Time now) {
  if (slot->state != Slot::kReady) slot->first_attempt_failed = true;
  slot->state = Slot::kBackoff;
  static thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(1 - kBackoffJitter,
                                                1 + kBackoffJitter);
  slot->retry_at = now + slot->backoff * jitter(random);
  slot->backoff = std::min(kMaxBackoff, slot->backoff * kBackoffFactor);
}

void H2Transport::Send(const Arrival& a, absl::Time intended,
                       absl::Time actual) {
  Call* call = new Call;
  call->arrival = a;
  call->intended = intended;
  call->sent = actual;
  call->deadline = actual + options_.timeout;
  const int64_t n = inflight_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (metrics_) metrics_->SetInflight(static_cast<double>(n));
  call->prev = newest_;
  if (newest_) newest_->next = call;
  newest_ = call;
  if (oldest_ == nullptr) oldest_ = call;

  Slot* slot = slots_[next_slot_].get();
  next_slot_ = next_slot_ + 1 == slots_.size() ? 0 : next_slot_ + 1;
  if (!slot->started) StartAttempt(slot, clock_->Now());
  Session* s = slot->session.get();
  if (slot->state == Slot::kBackoff || s == nullptr) {
    Finish(call, kUnavailable, nullptr);  // As gRPC fails a call fast.
    return;
  }
  nghttp2_data_provider body;
  body.source.ptr = &request_message_;
  body.read_callback = Callbacks::ReadRequest;
  const int32_t id = nghttp2_submit_request(s->h2, nullptr, nva_.data(),
                                            nva_.size(), &body, call);
  if (id < 0) {  // Out of stream ids: this connection is spent.
    Finish(call, kUnavailable, nullptr);
    s->goaway = true;
    Tend(s);
    return;
  }
  call->session = s;
  call->stream_id = id;
  s->calls.insert(call);
  // Answers are read while the pacer waits (WaitUntil); a pacer running
  // late never waits. So every kFlushEvery sends, besides the write, one
  // look that does not wait: answers in, deadlines, connections.
  if (++s->unflushed >= kFlushEvery) Run(clock_->Now(), /*until_idle=*/false);
}

void H2Transport::Closed(Session* s, Call* call, uint32_t error) {
  s->calls.erase(call);
  if (!call->done) {
    int code;
    load_worker::WorkResponse response;
    if (call->too_big) {
      code = kResourceExhausted;
    } else if (error != NGHTTP2_NO_ERROR) {
      code = CodeForHttp2Error(error);
    } else if (call->http_status != 200) {
      code = CodeForHttpStatus(call->http_status);
    } else if (call->grpc_status < 0) {
      code = kUnknown;  // No status in the trailers.
    } else {
      code = call->grpc_status;
    }
    if (code == kOk) {
      // One message: flag 0 (not compressed: we accept no encoding) and
      // its length, then the WorkResponse.
      const std::string& d = call->data;
      const uint32_t length =
          d.size() < 5 ? 0
                       : (uint32_t{static_cast<uint8_t>(d[1])} << 24) |
                             (uint32_t{static_cast<uint8_t>(d[2])} << 16) |
                             (uint32_t{static_cast<uint8_t>(d[3])} << 8) |
                             uint32_t{static_cast<uint8_t>(d[4])};
      if (d.size() < 5 || d[0] != 0 || d.size() != 5 + size_t{length} ||
          !response.ParseFromArray(d.data() + 5, static_cast<int>(length))) {
        code = kInternal;
      }
    }
    Finish(call, code, &response);
  }
  delete call;
}

void H2Transport::Finish(Call* call, int code,
                         load_worker::WorkResponse* response) {
  call->done = true;
  Row row = AnsweredRow(call->arrival, call->intended, call->sent,
                        clock_->Now(), options_.spin_ms, code, response);
  if (metrics_) {
    metrics_->OnCompleted(code == kOk, row.latency_us, row.intended_latency_us);
  }
  sink_->Record(std::move(row));
  if (call->prev) call->prev->next = call->next;
  if (call->next) call->next->prev = call->prev;
  if (oldest_ == call) oldest_ = call->next;
  if (newest_ == call) newest_ = call->prev;
  call->prev = call->next = nullptr;
  const int64_t left = inflight_.fetch_sub(1, std::memory_order_relaxed) - 1;
  if (metrics_) metrics_->SetInflight(static_cast<double>(left));
  if (call->session == nullptr) delete call;  // nghttp2 never saw it.
  if (code != kOk && on_failure_) on_failure_();
}

bool H2Transport::Flush(Session* s) {
  s->unflushed = 0;
  if (s->dead || !s->connected) return !s->dead;
  while (true) {
    if (s->out_done == s->out.size()) {
      s->out.clear();
      s->out_done = 0;
      // Everything nghttp2 has queued, in one buffer: one write.
      while (true) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(s->h2, &data);
        if (n < 0) {
          Drop(s, nghttp2_strerror(static_cast<int>(n)));
          return false;
        }
        if (n == 0) break;
        s->out.append(reinterpret_cast<const char*>(data),
                      static_cast<size_t>(n));
      }
      if (s->out.empty()) break;
    }
    const ssize_t n =
        send(s->fd, s->out.data() + s->out_done, s->out.size() - s->out_done,
             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      s->out_done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Drop(s, absl::StrCat("send: ", std::strerror(errno)));
    return false;
  }
  SetEvents(s, s->out_done < s->out.size() ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
  return true;
}

void H2Transport::SetEvents(Session* s, uint32_t events) {
  if (s->events == events || s->fd < 0) return;
  epoll_event ev = Event(events, s);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s->fd, &ev);
  s->events = events;
}

void H2Transport::OnWritable(Session* s) {
  if (!s->connected) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Drop(s, absl::StrCat("connect: ", std::strerror(err)));
      return;
    }
    s->connected = true;
    const int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  Flush(s);
}

void H2Transport::OnReadable(Session* s) {
  char buf[65536];
  while (!s->dead) {
    const ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      const ssize_t used = nghttp2_session_mem_recv(
          s->h2, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n));
      if (used < 0) {
        Drop(s, nghttp2_strerror(static_cast<int>(used)));
        return;
      }
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Drop(s, n == 0 ? "the server closed the connection"
                   : absl::StrCat("recv: ", std::strerror(errno)));
    return;
  }
  Tend(s);
  if (!s->dead) Flush(s);  // SETTINGS and PING acks, window updates.
}

// Acts on what a read may have changed: ready, GOAWAY, nothing left.
void H2Transport::Tend(Session* s) {
  if (s->dead) return;
  Slot* slot = s->slot;
  if (slot != nullptr && s->ready && slot->state == Slot::kConnecting) {
    slot->state = Slot::kReady;
    slot->backoff = kInitialBackoff;
  }
  if (s->goaway && slot != nullptr) {
    // The streams the server took finish here; new calls need a new
    // connection, which starts now.
    s->slot = nullptr;
    draining_.push_back(std::move(slot->session));
    slot->state = Slot::kBackoff;
    StartAttempt(slot, clock_->Now());
  }
  if (s->slot == nullptr && !nghttp2_session_want_read(s->h2) &&
      !nghttp2_session_want_write(s->h2)) {
    Drop(s, "the server ended the connection (GOAWAY)");
  }
}

void H2Transport::Drop(Session* s, const std::string& why) {
  if (s->dead) return;
  s->dead = true;
  last_error_ = why;
  // The streams it carried fail, as gRPC fails them when a connection is
  // lost; nghttp2 forgets them with the session.
  for (Call* call : s->calls) {
    if (!call->done) Finish(call, kUnavailable, nullptr);
    delete call;
  }
  s->calls.clear();
  if (s->fd >= 0) close(s->fd);  // Also leaves the epoll set.
  s->fd = -1;
  nghttp2_session_del(s->h2);
  s->h2 = nullptr;
  Slot* slot = s->slot;
  if (slot != nullptr && slot->session.get() == s) {
    graveyard_.push_back(std::move(slot->session));
    Backoff(slot, clock_->Now());
  } else {
    for (auto& d : draining_) {
      if (d.get() == s) graveyard_.push_back(std::move(d));
    }
    draining_.erase(std::remove(draining_.begin(), draining_.end(), nullptr),
                    draining_.end());
  }
}

void H2Transport::ExpireDeadlines(absl::Time now) {
  while (oldest_ != nullptr && oldest_->deadline <= now) {
    Call* call = oldest_;
    Finish(call, kDeadlineExceeded, nullptr);
    // The stream is reset; the Call goes when nghttp2 closes it.
    if (call->session != nullptr && !call->session->dead) {
      nghttp2_submit_rst_stream(call->session->h2, NGHTTP2_FLAG_NONE,
                                call->stream_id, NGHTTP2_CANCEL);
    }
  }
}

void H2Transport::TendConnections(absl::Time now) {
  for (auto& owned : slots_) {
    Slot* slot = owned.get();
    if (!slot->started) continue;
    if (slot->state == Slot::kBackoff && slot->session == nullptr &&
        now >= slot->retry_at) {
      StartAttempt(slot, now);
    } else if (slot->state == Slot::kConnecting && slot->session &&
               now >= slot->session->attempt_deadline) {
      Drop(slot->session.get(),
           "no HTTP/2 SETTINGS from the server within --connect-timeout");
    }
  }
}

absl::Time H2Transport::NextTimer() const {
  absl::Time next = absl::InfiniteFuture();
  if (oldest_ != nullptr) next = oldest_->deadline;
  for (const auto& slot : slots_) {
    if (!slot->started) continue;
    if (slot->state == Slot::kBackoff && slot->session == nullptr) {
      next = std::min(next, slot->retry_at);
    } else if (slot->state == Slot::kConnecting && slot->session) {
      next = std::min(next, slot->session->attempt_deadline);
    }
  }
  return next;
}

void H2Transport::Run(absl::Time t, bool until_idle) {
  epoll_event events[64];
  bool polled = false;
  while (true) {
    for (auto& slot : slots_) {
      if (slot->session) Flush(slot->session.get());
    }
    for (size_t i = 0; i < draining_.size(); ++i) Flush(draining_[i].get());
    graveyard_.clear();
    const absl::Time now = clock_->Now();
    ExpireDeadlines(now);
    TendConnections(now);
    if (until_idle && inflight() == 0) return;
    if (polled && now >= t) return;
    // Once past `t`, one look that does not wait: answers already in are
    // recorded now, not after the next send. Otherwise the timer is set
    // for the wake-up (once per target: an answer that wakes the loop
    // first leaves it set) and the wait has no timeout of its own.
    const absl::Time wake = std::min(t, NextTimer());
    int timeout_ms = 0;
    if (wake > now) {
      timeout_ms = -1;
      if (wake != armed_) {
        itimerspec spec{};
        spec.it_value = absl::ToTimespec(wake);
        timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
        armed_ = wake;
      }
    }
    const int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
    polled = true;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == &timer_fd_) {
        uint64_t expirations = 0;
        (void)!read(timer_fd_, &expirations, sizeof(expirations));
        armed_ = absl::InfinitePast();
        continue;
      }
      auto* s = static_cast<Session*>(events[i].data.ptr);
      if (s->dead) continue;
      const uint32_t e = events[i].events;
      if (!s->connected && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        OnWritable(s);
        if (s->dead) continue;
      } else if (e & EPOLLOUT) {
        Flush(s);
        if (s->dead) continue;
      }
      if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(s);
    }
  }
}

ConnectResult H2Transport::Connect(absl::Time deadline,
                                   const std::function<bool()>& stop) {
  const absl::Time start = clock_->Now();
  for (auto& slot : slots_) {
    if (!slot->started) StartAttempt(slot.get(), start);
  }
  ConnectResult result;
  while (true) {
    result.ready = 0;
    result.failed = 0;
    for (const auto& slot : slots_) {
      result.ready += slot->state == Slot::kReady;
      result.failed +=
          slot->state != Slot::kReady && slot->first_attempt_failed;
    }
    const absl::Time now = clock_->Now();
    if (result.ready + result.failed == static_cast<int>(slots_.size()) ||
        stop() || now >= deadline) {
      break;
    }
    Run(std::min(deadline, now + absl::Milliseconds(2)), false);
  }
  result.took = clock_->Now() - start;
  return result;
}

bool H2Transport::WaitIdle(absl::Time deadline) {
  Run(deadline, /*until_idle=*/true);
  return inflight() == 0;
}

void H2Transport::WaitUntil(absl::Time t) { Run(t, /*until_idle=*/false); }

void H2Transport::CancelAll() {
  while (oldest_ != nullptr) {
    Call* call = oldest_;
    Finish(call, kCancelled, nullptr);
    if (call->session != nullptr && !call->session->dead) {
      nghttp2_submit_rst_stream(call->session->h2, NGHTTP2_FLAG_NONE,
                                call->stream_id, NGHTTP2_CANCEL);
    }
  }
  for (auto& slot : slots_) {
    if (slot->session) Flush(slot->session.get());
  }
  for (size_t i = 0; i < draining_.size(); ++i) Flush(draining_[i].get());
}

}  // namespace knbench::load_driver
