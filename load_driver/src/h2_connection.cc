// The h2 transport's connections and its event loop: connecting with
// gRPC's backoff, writing what nghttp2 queued, reading answers, deadlines.
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

#include "absl/strings/str_cat.h"
#include "h2_session.h"
#include "h2_wire.h"
#include "knbench/common/grpc_wire.h"
#include "knbench/common/h2_output.h"
#include "knbench/common/net.h"
#include "knbench/load_driver/h2_transport.h"

namespace knbench::load_driver {
namespace {

constexpr double kBackoffFactor = 1.6;
constexpr double kBackoffJitter = 0.2;
// Our receive windows: answers never wait for a WINDOW_UPDATE.
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 1 << 24;

}  // namespace

void H2Transport::StartAttempt(Slot* slot, absl::Time now) {
  slot->started = true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* info = nullptr;
  int fd = -1;
  if (getaddrinfo(options_.target.host.c_str(), options_.target.port.c_str(),
                  &hints, &info) == 0) {
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
  epoll_event ev = EpollEvent(s->events, s.get());
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
  slot->backoff = std::min(kH2MaxBackoff, slot->backoff * kBackoffFactor);
}

bool H2Transport::Flush(Session* s) {
  s->unflushed = 0;
  if (s->dead || !s->connected) return !s->dead;
  int h2_error = 0;
  switch (FlushH2(s->h2, s->fd, &s->out, &h2_error)) {
    case H2Flush::kSessionError:
      Drop(s, nghttp2_strerror(h2_error));
      return false;
    case H2Flush::kSocketError:
      Drop(s, absl::StrCat("send: ", std::strerror(errno)));
      return false;
    case H2Flush::kDone:
    case H2Flush::kBlocked:
      break;
  }
  SetEvents(s, s->out.Pending() ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
  return true;
}

void H2Transport::SetEvents(Session* s, uint32_t events) {
  if (s->events == events || s->fd < 0) return;
  epoll_event ev = EpollEvent(events, s);
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
    slot->backoff = kH2InitialBackoff;
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
    if (!call->done) Finish(call, grpc_wire::kUnavailable, nullptr);
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
    EndEarly(oldest_, grpc_wire::kDeadlineExceeded);
  }
}

void H2Transport::FlushAll() {
  for (auto& slot : slots_) {
    if (slot->session) Flush(slot->session.get());
  }
  for (size_t i = 0; i < draining_.size(); ++i) Flush(draining_[i].get());
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
    FlushAll();
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
        armed_ = absl::InfinitePast();  // Fired: the next wait re-arms it.
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

}  // namespace knbench::load_driver
