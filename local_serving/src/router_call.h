// One call through the router, a pod as the router sees it, and an HTTP/2
// connection of either side (private to the router's sources).
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_CALL_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_CALL_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "knbench/common/h2_output.h"
#include "knbench/local_serving/router.h"
#include "knbench/tracing/trace_context.h"

namespace knbench::local_serving {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One HTTP/2 connection: a client's, which the router serves, or the
// router's own to a pod.
struct Router::Conn {
  Router* router = nullptr;
  int fd = -1;
  nghttp2_session* h2 = nullptr;
  bool to_pod = false;  // a pod's connection; else a client's
  Pod* pod = nullptr;   // its pod, while the pod lives
  bool connected = false;
  bool goaway = false;  // the pod said GOAWAY: no new calls on it
  bool dead = false;
  H2Output out;  // frames the socket has not taken yet
  uint32_t events = 0;
  std::unordered_set<Call*> calls;  // every Call nghttp2 may still name
};

// nghttp2's callbacks (router_streams.cc); their user data is the Conn.
struct Router::Callbacks {
  static nghttp2_session_callbacks* ForClients();
  static nghttp2_session_callbacks* ForPods();
  static Call* CallOf(nghttp2_session* h2, int32_t stream_id);

  static int OnBeginHeaders(nghttp2_session* h2, const nghttp2_frame* frame,
                            void* user);
  static int OnHeader(nghttp2_session* h2, const nghttp2_frame* frame,
                      const uint8_t* name, size_t name_len,
                      const uint8_t* value, size_t value_len, uint8_t flags,
                      void* user);
  static int OnData(nghttp2_session* h2, uint8_t flags, int32_t stream_id,
                    const uint8_t* data, size_t len, void* user);
  static int OnFrameRecv(nghttp2_session* h2, const nghttp2_frame* frame,
                         void* user);
  static int OnFrameSend(nghttp2_session* h2, const nghttp2_frame* frame,
                         void* user);
  static int OnStreamClose(nghttp2_session* h2, int32_t stream_id,
                           uint32_t error, void* user);
  static ssize_t ReadAnswer(nghttp2_session* h2, int32_t stream_id,
                            uint8_t* buf, size_t length, uint32_t* flags,
                            nghttp2_data_source* source, void* user);
  static ssize_t ReadRequest(nghttp2_session* h2, int32_t stream_id,
                             uint8_t* buf, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void* user);
};

struct Router::Pod {
  std::string name;
  std::string host;
  std::string port;
  Conn* conn = nullptr;  // null once it broke
  // The rest is guarded by the router's mutex.
  int64_t inflight = 0;
  std::list<Call*> queue;  // its queue-proxy's queue
  bool removed = false;    // out of the routing set

  Pod() = default;
  Pod(const Pod&) = delete;
  Pod& operator=(const Pod&) = delete;
  // A removed pod goes with its last call; its connection may close later.
  ~Pod() {
    if (conn != nullptr) conn->pod = nullptr;
  }

  // Its connection works: it may be sent calls.
  bool routable() const {
    return conn != nullptr && !conn->dead && !conn->goaway;
  }
};

// A traced call's spans (router_trace.cc), by real time, as the other
// processes' spans are: the activator's from its arrival to its answer, with
// a child for its wait for a pod with capacity (arrival to dispatch), and the
// queue-proxy's from its arrival at the pod's queue-proxy (its dispatch, or
// its arrival when the activator was not in the path) to its answer.
struct CallSpans {
  bool traced = false;
  tracing::SpanId caller{};        // its parent's; zero for a new root
  tracing::SpanContext activator;  // the queue-proxy span's parent
  tracing::SpanContext queue_proxy;
  int64_t arrived_ns = 0;
  int64_t dispatched_ns = 0;  // 0: never sent to a pod
  int64_t answered_ns = 0;
  std::string pod;  // the pod it was sent to
};

// One proxied call: the client's stream and, once sent, the pod's. The
// router's mutex guards the fields below `Guarded by the router's mutex`;
// the rest belongs to the router's thread.
class Router::Call {
 public:
  enum class State { kReading, kQueued, kUpstream, kAnswered };

  // The client's stream.
  Conn* client = nullptr;
  int32_t stream_id = -1;
  std::string method;
  std::string authority;
  Headers metadata;                              // forwarded to the pod
  size_t metadata_bytes = 0;                     // its headers' size so far
  absl::Time deadline = absl::InfiniteFuture();  // real time
  std::multimap<absl::Time, Call*>::iterator deadline_pos;
  bool has_deadline = false;
  std::string request;      // the first message, its length prefix included
  size_t request_done = 0;  // sent to the pod
  size_t length = 0;        // its body's, once the prefix is read
  bool prefix_read = false;
  bool message_read = false;
  bool ignore_data = false;  // answered, or its message is read whole
  bool client_closed = false;
  bool answer_sent = false;  // our END_STREAM went out
  bool begun = false;        // its headers were read: it is reported
  bool expired = false;      // its grpc-timeout passed while at a pod

  // The pod's stream.
  Conn* up = nullptr;
  int32_t up_stream = -1;
  int up_http_status = 0;
  int up_grpc_status = -1;
  std::string up_grpc_message;
  uint32_t up_error = 0;  // RST_STREAM's code
  bool up_too_big = false;
  Headers up_headers;   // the response's, before its message
  Headers up_trailers;  // its trailers (or the trailers-only response's)
  std::string up_data;

  // The answer's message, as the data source reads it.
  std::string answer;
  size_t answer_done = 0;
  Headers answer_trailers;

  // Guarded by the router's mutex.
  State state_ = State::kReading;
  bool via_activator_ = false;
  bool admitted_ = false;  // counted in SecondStats
  bool aborted_ = false;   // its pod call was cancelled by Abort
  absl::Time arrived_;     // began; admitted, once it is
  std::shared_ptr<Pod> pod_;
  std::list<Call*>* list_ = nullptr;  // reading_, a queue or upstream_
  std::list<Call*>::iterator list_pos_;
  size_t held_bytes_ = 0;  // its message, counted in the budget
  // Its waits so far (the trailers of common/wait_trailers.h): in the
  // activator's FIFO, in queue-proxy queues, and when it entered the queue it
  // is in.
  absl::Duration activator_wait_;
  absl::Duration queue_wait_;
  absl::Time waiting_since_;
  // How it was answered, for the observer.
  grpc::StatusCode answer_code_ = grpc::StatusCode::OK;
  bool answered_by_pod_ = false;
  absl::Duration latency_;

  // The client ended the call before our answer: the code it saw.
  bool client_ended_ = false;
  grpc::StatusCode client_code_ = grpc::StatusCode::CANCELLED;
  CallSpans spans;  // set at Begin, times as they come, under the mutex
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_ROUTER_CALL_H_
