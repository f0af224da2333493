// The h2 transport's state, shared by its two halves: the calls
// (h2_transport.cc) and the connections and event loop (h2_connection.cc).
#ifndef KNBENCH_LOAD_DRIVER_SRC_H2_SESSION_H_
#define KNBENCH_LOAD_DRIVER_SRC_H2_SESSION_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "absl/time/time.h"
#include "knbench/common/h2_output.h"
#include "knbench/load_driver/h2_transport.h"

namespace knbench::load_driver {

// gRPC's reconnect backoff, with the bounds the driver has always used.
inline constexpr absl::Duration kH2InitialBackoff = absl::Milliseconds(100);
inline constexpr absl::Duration kH2MaxBackoff = absl::Seconds(1);

// One call, from Send to its row; its memory lives on until nghttp2 closes
// its stream (or the session goes), as nghttp2 may still name it.
struct H2Transport::Call {
  Outgoing outgoing;
  absl::Time deadline;
  Session* session = nullptr;
  int32_t stream_id = -1;
  int http_status = 0;
  int grpc_status = -1;
  RouterWaits waits;  // From the trailers (or a trailers-only answer).
  bool too_big = false;
  bool done = false;     // Its row is recorded.
  std::string data;      // The response's DATA bytes.
  Call* prev = nullptr;  // Send order, while not done.
  Call* next = nullptr;
  // Its traceparent header's value when traced; else empty.
  std::string traceparent;
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
  H2Output out;  // Frames not yet taken by the socket.
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
  absl::Duration backoff = kH2InitialBackoff;
  bool started = false;
  bool first_attempt_failed = false;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_SRC_H2_SESSION_H_
