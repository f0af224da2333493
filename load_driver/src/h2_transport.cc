#include "knbench/load_driver/h2_transport.h"

#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "h2_session.h"
#include "h2_wire.h"
#include "knbench/common/grpc_wire.h"
#include "knbench/common/wait_trailers.h"
#include "load_worker.pb.h"

namespace knbench::load_driver {
namespace {

// Requests queued in a session before it is written without waiting for
// the pacer to pause: a late pacer still sends in batches, not in one lump.
constexpr int kFlushEvery = 32;

nghttp2_nv Header(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
          name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

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
    } else if (n == kActivatorWaitTrailer) {
      call->waits.activator_us = ParseWaitMicros(v);
    } else if (n == kQueueWaitTrailer) {
      call->waits.queue_us = ParseWaitMicros(v);
    }
    return 0;
  }

  static int OnData(nghttp2_session* h2, uint8_t, int32_t stream_id,
                    const uint8_t* data, size_t len, void*) {
    H2Transport::Call* call = CallOf(h2, stream_id);
    if (call == nullptr || call->too_big) return 0;
    if (call->data.size() + len > h2::kMaxResponseBytes + 5) {
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
    : Transport(std::move(options), clock, sink, metrics),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      timer_fd_(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)) {
  epoll_event timer{};
  // Edge-triggered: each expiry wakes the loop once, so the expiry count
  // need not be read (one system call fewer per wake-up); re-arming the
  // timer resets the count.
  timer.events = EPOLLIN | EPOLLET;
  timer.data.ptr = &timer_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &timer);
  load_worker::WorkRequest request;
  request.set_duration_ms(options_.spin_ms);
  request_message_ = grpc_wire::FrameMessage(request.SerializeAsString());
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
              {":path", h2::kPath},
              {":authority", options_.target.authority()},
              {"content-type", "application/grpc"},
              {"te", "trailers"},
              {"grpc-timeout", grpc_wire::GrpcTimeout(options_.timeout)},
              {"user-agent", h2::kUserAgent}};
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

void H2Transport::Send(const Arrival& a, absl::Time intended,
                       absl::Time actual) {
  Call* call = new Call;
  call->outgoing = {a, intended, actual, {}};
  call->deadline = actual + options_.timeout;
  if (Traced(&call->outgoing)) {
    call->traceparent = tracing::FormatTraceparent(call->outgoing.trace);
  }
  Started();
  call->prev = newest_;
  if (newest_) newest_->next = call;
  newest_ = call;
  if (oldest_ == nullptr) oldest_ = call;

  Slot* slot = slots_[next_slot_].get();
  next_slot_ = next_slot_ + 1 == slots_.size() ? 0 : next_slot_ + 1;
  if (!slot->started) StartAttempt(slot, clock_->Now());
  Session* s = slot->session.get();
  if (slot->state == Slot::kBackoff || s == nullptr) {
    Finish(call, grpc_wire::kUnavailable,
           nullptr);  // As gRPC fails a call fast.
    return;
  }
  nghttp2_data_provider body;
  body.source.ptr = &request_message_;
  body.read_callback = Callbacks::ReadRequest;
  const int32_t id = Submit(s, call, &body);
  if (id < 0) {  // Out of stream ids: this connection is spent.
    Finish(call, grpc_wire::kUnavailable, nullptr);
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

int32_t H2Transport::Submit(Session* s, Call* call,
                            const nghttp2_data_provider* body) {
  if (call->traceparent.empty()) {
    return nghttp2_submit_request(s->h2, nullptr, nva_.data(), nva_.size(),
                                  body, call);
  }
  // nghttp2 copies the array; the header's bytes stay in the call until
  // its stream closes.
  static const std::string kName = tracing::kTraceparentHeader;
  std::vector<nghttp2_nv> nva = nva_;
  nva.push_back(Header(kName, call->traceparent));
  return nghttp2_submit_request(s->h2, nullptr, nva.data(), nva.size(), body,
                                call);
}

void H2Transport::Closed(Session* s, Call* call, uint32_t error) {
  s->calls.erase(call);
  if (!call->done) {
    h2::StreamEnd end;
    end.http2_error = error;
    end.http_status = call->http_status;
    end.grpc_status = call->grpc_status;
    end.too_big = call->too_big;
    end.data = call->data;
    load_worker::WorkResponse response;
    const int code = h2::StatusOf(end, &response);
    Finish(call, code, &response);
  }
  delete call;
}

void H2Transport::Finish(Call* call, int code,
                         load_worker::WorkResponse* response) {
  call->done = true;
  if (call->prev) call->prev->next = call->next;
  if (call->next) call->next->prev = call->prev;
  if (oldest_ == call) oldest_ = call->next;
  if (newest_ == call) newest_ = call->prev;
  call->prev = call->next = nullptr;
  const bool unsent = call->session == nullptr;
  Ended(call->outgoing, code, response, call->waits);
  if (unsent) delete call;  // nghttp2 never saw it.
}

void H2Transport::EndEarly(Call* call, int code) {
  Finish(call, code, nullptr);
  // The stream is reset; the Call goes when nghttp2 closes it.
  if (call->session != nullptr && !call->session->dead) {
    nghttp2_submit_rst_stream(call->session->h2, NGHTTP2_FLAG_NONE,
                              call->stream_id, NGHTTP2_CANCEL);
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
  while (oldest_ != nullptr) EndEarly(oldest_, grpc_wire::kCancelled);
  FlushAll();
}

}  // namespace knbench::load_driver
