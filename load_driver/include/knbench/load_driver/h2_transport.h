#ifndef KNBENCH_LOAD_DRIVER_H2_TRANSPORT_H_
#define KNBENCH_LOAD_DRIVER_H2_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "knbench/load_driver/transport.h"
#include "nghttp2/nghttp2.h"

namespace knbench::load_driver {

// Sends InvokeWorker calls as gRPC over HTTP/2 cleartext (h2c), framed by
// nghttp2 (the HTTP/2 library h2load is built on), with the driver's own
// event loop: no thread but the pacing thread. While the pacer waits for
// its next send (WaitUntil), the loop reads answers and records their rows
// the moment they arrive, expires deadlines and reconnects; the requests
// due at one wake-up leave in one write. gRPC's client library cost 2-4
// times the CPU per call here (threads handing each call to one another;
// docs/bench.md has the figures).
//
// On the wire it is gRPC as the protocol specifies it (PROTOCOL-HTTP2): the
// same headers (grpc-timeout carries the deadline), the 5-byte message
// prefix, status from the trailers. Statuses follow gRPC's client: the
// --timeout deadline gives DEADLINE_EXCEEDED (and resets the stream), a
// connection that fails or is down gives UNAVAILABLE, a reset stream the
// code gRPC maps its HTTP/2 error to. A connection attempt that does not
// see the server's SETTINGS within --connect-timeout fails; attempts repeat
// with gRPC's backoff (100 ms to 1 s here, factor 1.6, jitter 0.2). A GOAWAY
// lets the streams the server accepted finish while a new connection is
// made.
class H2Transport : public Transport {
 public:
  H2Transport(TransportOptions options, Clock* clock, RowSink* sink,
              DriverMetrics* metrics);
  ~H2Transport() override;
  H2Transport(const H2Transport&) = delete;
  H2Transport& operator=(const H2Transport&) = delete;

  void Send(const Arrival& a, absl::Time intended, absl::Time actual) override;
  ConnectResult Connect(absl::Time deadline,
                        const std::function<bool()>& stop) override;
  bool WaitIdle(absl::Time deadline) override;
  void CancelAll() override;
  void WaitUntil(absl::Time t) override;

  std::string last_error() const override { return last_error_; }

  struct Call;
  struct Session;
  struct Slot;

  // nghttp2 closed `call`'s stream with `error`: records its row, unless
  // the driver already did (deadline, cancel), and frees it.
  void Closed(Session* s, Call* call, uint32_t error);

 private:
  // Runs the loop until `t` (or, with `until_idle`, until no call is in
  // flight): writes what is queued, waits on the sockets, reads, records.
  void Run(absl::Time t, bool until_idle);
  void StartAttempt(Slot* slot, absl::Time now);
  void Backoff(Slot* slot, absl::Time now);
  void OnReadable(Session* s);
  void OnWritable(Session* s);
  void Tend(Session* s);
  // Hands nghttp2's pending frames to the socket; false if it failed.
  bool Flush(Session* s);
  // Closes `s`; its calls fail with UNAVAILABLE.
  void Drop(Session* s, const std::string& why);
  // Submits `call`'s request on `s` (with its traceparent when traced);
  // the stream id, or nghttp2's error.
  int32_t Submit(Session* s, Call* call, const nghttp2_data_provider* body);
  // Records `call`'s row: it ended with `grpc_code`.
  void Finish(Call* call, int grpc_code, load_worker::WorkResponse* response);
  // Ends `call` before its answer (deadline, cancel): its row, and a reset
  // of its stream.
  void EndEarly(Call* call, int grpc_code);
  void FlushAll();
  void ExpireDeadlines(absl::Time now);
  void TendConnections(absl::Time now);
  absl::Time NextTimer() const;
  void SetEvents(Session* s, uint32_t events);

  std::string request_message_;  // 5-byte prefix + WorkRequest
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Session>> draining_;  // After a GOAWAY.
  // Sessions dropped during an event batch, freed before the next one.
  std::vector<std::unique_ptr<Session>> graveyard_;
  nghttp2_session_callbacks* callbacks_ = nullptr;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::vector<nghttp2_nv> nva_;  // Points into headers_.
  std::string last_error_;
  size_t next_slot_ = 0;
  int epoll_fd_ = -1;
  // Wakes the loop for the pacer's next send and for deadlines: set once
  // per target, not once per wait.
  int timer_fd_ = -1;
  absl::Time armed_ = absl::InfinitePast();
  // Calls in flight in send order: with one --timeout, also deadline order.
  Call* oldest_ = nullptr;
  Call* newest_ = nullptr;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_H2_TRANSPORT_H_
