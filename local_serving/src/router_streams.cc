// The router's HTTP/2 streams: a client's request read into a Call, the
// call sent to its pod as one request, the pod's answer read, and the
// answer (the pod's, or the router's own) written back, with nghttp2.
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "knbench/common/grpc_wire.h"
#include "knbench/common/wait_trailers.h"
#include "knbench/local_serving/router.h"
#include "router_call.h"
#include "router_wire.h"

namespace knbench::local_serving {
namespace {

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
          name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

std::vector<nghttp2_nv> Nvs(const Headers& headers) {
  std::vector<nghttp2_nv> out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers) out.push_back(Nv(name, value));
  return out;
}

// Headers that are HTTP/2's or gRPC's own on each hop, not the caller's
// metadata: the router writes its own.
bool IsHopHeader(absl::string_view name) {
  return absl::StartsWith(name, ":") || name == "te" ||
         name == "content-type" || name == "user-agent" ||
         (absl::StartsWith(name, "grpc-") && name != "grpc-encoding" &&
          name != "grpc-accept-encoding");
}

// A DATA frame's worth of `from`, from `*done` on; advances `*done`.
size_t CopyOut(const std::string& from, size_t* done, uint8_t* buf,
               size_t length) {
  const size_t n = std::min(length, from.size() - *done);
  std::memcpy(buf, from.data() + *done, n);
  *done += n;
  return n;
}

}  // namespace

Router::Call* Router::Callbacks::CallOf(nghttp2_session* h2,
                                        int32_t stream_id) {
  return static_cast<Call*>(
      nghttp2_session_get_stream_user_data(h2, stream_id));
}

nghttp2_session_callbacks* Router::Callbacks::ForPods() {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, OnData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, OnFrameRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, OnStreamClose);
  return cb;
}

nghttp2_session_callbacks* Router::Callbacks::ForClients() {
  // A pod's, and the stream's start and our answer's end.
  nghttp2_session_callbacks* cb = ForPods();
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, OnBeginHeaders);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, OnFrameSend);
  return cb;
}

int Router::Callbacks::OnBeginHeaders(nghttp2_session* h2,
                                      const nghttp2_frame* frame, void* user) {
  if (frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  auto* conn = static_cast<Conn*>(user);
  auto* call = new Call;
  call->client = conn;
  call->stream_id = frame->hd.stream_id;
  conn->calls.insert(call);
  nghttp2_session_set_stream_user_data(h2, frame->hd.stream_id, call);
  absl::MutexLock lock(&conn->router->mu_);
  ++conn->router->live_calls_;
  return 0;
}

int Router::Callbacks::OnHeader(nghttp2_session* h2, const nghttp2_frame* frame,
                                const uint8_t* name, size_t name_len,
                                const uint8_t* value, size_t value_len, uint8_t,
                                void* user) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Call* call = CallOf(h2, frame->hd.stream_id);
  if (call == nullptr) return 0;
  const std::string n(reinterpret_cast<const char*>(name), name_len);
  std::string v(reinterpret_cast<const char*>(value), value_len);
  if (!static_cast<Conn*>(user)->to_pod) {
    // A client's request; its trailers, if any, carry nothing we forward.
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    call->metadata_bytes += name_len + value_len + 32;
    if (call->metadata_bytes > kMaxMetadataBytes) return 0;  // Begin refuses
    if (n == ":path") {
      call->method = std::move(v);
    } else if (n == ":authority") {
      call->authority = std::move(v);
    } else if (n == "grpc-timeout") {
      if (std::optional<absl::Duration> d = grpc_wire::ParseGrpcTimeout(v)) {
        call->deadline = absl::Now() + *d;
      }
    } else if (!IsHopHeader(n)) {
      call->metadata.emplace_back(n, std::move(v));
    }
    return 0;
  }
  // A pod's answer: its response headers, then trailers; a trailers-only
  // answer is one HEADERS that ends the stream.
  int number = 0;
  if (n == ":status" && absl::SimpleAtoi(v, &number)) {
    call->up_http_status = number;
  } else if (n == "grpc-status" && absl::SimpleAtoi(v, &number)) {
    call->up_grpc_status = number;
  } else if (n == "grpc-message") {
    call->up_grpc_message = grpc_wire::PercentDecode(v);
  } else if (absl::StartsWith(n, ":") || n == "content-type" ||
             absl::StartsWith(n, "grpc-status-details")) {
    // HTTP's, or a detail the router does not carry.
  } else if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE &&
             !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    call->up_headers.emplace_back(n, std::move(v));
  } else if (n != kActivatorWaitTrailer && n != kQueueWaitTrailer) {
    call->up_trailers.emplace_back(n, std::move(v));  // the waits are ours
  }
  return 0;
}

int Router::Callbacks::OnData(nghttp2_session* h2, uint8_t, int32_t stream_id,
                              const uint8_t* data, size_t len, void* user) {
  Call* call = CallOf(h2, stream_id);
  if (call == nullptr) return 0;
  const auto* bytes = reinterpret_cast<const char*>(data);
  if (static_cast<Conn*>(user)->to_pod) {
    if (call->up_too_big) return 0;
    if (call->up_data.size() + len >
        kMaxResponseBytes + grpc_wire::kPrefixBytes) {
      call->up_too_big = true;
      nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, stream_id,
                                NGHTTP2_CANCEL);
      return 0;
    }
    call->up_data.append(bytes, len);
    return 0;
  }
  Router* router = call->client->router;
  while (!call->ignore_data) {
    if (!call->prefix_read) {
      const size_t take =
          std::min(len, grpc_wire::kPrefixBytes - call->request.size());
      call->request.append(bytes, take);
      bytes += take;
      len -= take;
      if (call->request.size() < grpc_wire::kPrefixBytes) return 0;
      call->prefix_read = true;
      call->length = grpc_wire::MessageLength(call->request);
      router->Reserve(call, call->length);
      continue;
    }
    const size_t want = grpc_wire::kPrefixBytes + call->length;
    const size_t take = std::min(len, want - call->request.size());
    call->request.append(bytes, take);
    bytes += take;
    len -= take;
    if (call->request.size() < want) return 0;
    // A second message is not read: the first is the request.
    call->ignore_data = true;
    call->message_read = true;
    router->OnRead(call, true);
  }
  return 0;
}

int Router::Callbacks::OnFrameRecv(nghttp2_session* h2,
                                   const nghttp2_frame* frame, void* user) {
  auto* conn = static_cast<Conn*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY && conn->to_pod) {
    conn->goaway = true;
    return 0;
  }
  if (conn->to_pod) return 0;
  Call* call = CallOf(h2, frame->hd.stream_id);
  if (call == nullptr) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS &&
      frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    conn->router->Begin(call);
  }
  // The request ended: without its message whole, there is none.
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !call->message_read &&
      !call->ignore_data) {
    call->ignore_data = true;
    conn->router->OnRead(call, false);
  }
  return 0;
}

int Router::Callbacks::OnFrameSend(nghttp2_session* h2,
                                   const nghttp2_frame* frame, void*) {
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    return 0;
  }
  Call* call = CallOf(h2, frame->hd.stream_id);
  if (call == nullptr) return 0;
  call->answer_sent = true;
  // Answered before the request ended (a refusal, a late message): the
  // rest of it is not wanted, as gRPC's server says.
  if (!nghttp2_session_get_stream_remote_close(h2, frame->hd.stream_id)) {
    nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                              NGHTTP2_NO_ERROR);
  }
  return 0;
}

int Router::Callbacks::OnStreamClose(nghttp2_session* h2, int32_t stream_id,
                                     uint32_t error, void* user) {
  Call* call = CallOf(h2, stream_id);
  if (call == nullptr) return 0;
  auto* conn = static_cast<Conn*>(user);
  Router* router = conn->router;
  conn->calls.erase(call);
  if (conn->to_pod) {
    call->up = nullptr;
    wire::UpstreamEnd end;
    end.http2_error = error;
    end.http_status = call->up_http_status;
    end.grpc_status = call->up_grpc_status;
    end.grpc_message = call->up_grpc_message;
    end.too_big = call->up_too_big;
    router->Release(call, wire::StatusOf(end));
  } else {
    call->client_closed = true;
    if (!call->answer_sent) router->Cancel(call);
  }
  router->MaybeRetire(call);
  return 0;
}

ssize_t Router::Callbacks::ReadAnswer(nghttp2_session* h2, int32_t stream_id,
                                      uint8_t* buf, size_t length,
                                      uint32_t* flags,
                                      nghttp2_data_source* source, void*) {
  auto* call = static_cast<Call*>(source->ptr);
  const size_t n = CopyOut(call->answer, &call->answer_done, buf, length);
  if (call->answer_done == call->answer.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    const std::vector<nghttp2_nv> nva = Nvs(call->answer_trailers);
    nghttp2_submit_trailer(h2, stream_id, nva.data(), nva.size());
  }
  return static_cast<ssize_t>(n);
}

ssize_t Router::Callbacks::ReadRequest(nghttp2_session*, int32_t, uint8_t* buf,
                                       size_t length, uint32_t* flags,
                                       nghttp2_data_source* source, void*) {
  auto* call = static_cast<Call*>(source->ptr);
  const size_t n = CopyOut(call->request, &call->request_done, buf, length);
  if (call->request_done == call->request.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return static_cast<ssize_t>(n);
}

void Router::StartUpstream(Call* call, Pod* pod) {
  Conn* conn = pod->conn;
  if (conn == nullptr || conn->dead) {
    // Its connection broke between the pick and now: as gRPC fails a call
    // on a lost connection.
    Release(call, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "local_serving: the pod's connection broke"));
    return;
  }
  Headers headers = {
      {":method", "POST"},
      {":scheme", "http"},
      {":path", call->method},
      {":authority",
       call->authority.empty() ? pod->host + ":" + pod->port : call->authority},
      {"content-type", "application/grpc"},
      {"te", "trailers"}};
  if (call->deadline != absl::InfiniteFuture()) {
    headers.emplace_back("grpc-timeout",
                         grpc_wire::GrpcTimeout(call->deadline - absl::Now()));
  }
  headers.insert(headers.end(), call->metadata.begin(), call->metadata.end());
  const std::vector<nghttp2_nv> nva = Nvs(headers);
  nghttp2_data_provider data{};
  data.source.ptr = call;
  data.read_callback = Callbacks::ReadRequest;
  call->request_done = 0;
  const int32_t id = nghttp2_submit_request(conn->h2, nullptr, nva.data(),
                                            nva.size(), &data, call);
  if (id < 0) {
    Release(call, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "local_serving: the pod's connection is full"));
    return;
  }
  call->up = conn;
  call->up_stream = id;
  conn->calls.insert(call);
}

void Router::Answer(Call* call, const grpc::Status& status) {
  if (call->client_closed || call->client == nullptr) return;
  nghttp2_session* h2 = call->client->h2;
  Headers trailers;
  if (call->answered_by_pod_) trailers = std::move(call->up_trailers);
  trailers.emplace(trailers.begin(), "grpc-status",
                   std::to_string(static_cast<int>(status.error_code())));
  if (!status.error_message().empty()) {
    trailers.emplace(trailers.begin() + 1, "grpc-message",
                     grpc_wire::PercentEncode(status.error_message()));
  }
  trailers.emplace_back(kActivatorWaitTrailer,
                        FormatWaitMicros(call->activator_wait_));
  trailers.emplace_back(kQueueWaitTrailer, FormatWaitMicros(call->queue_wait_));
  Headers headers = {{":status", "200"}, {"content-type", "application/grpc"}};
  if (status.ok() && call->answered_by_pod_) {
    headers.insert(headers.end(), call->up_headers.begin(),
                   call->up_headers.end());
    call->answer = std::move(call->up_data);
    call->answer_trailers = std::move(trailers);
    const std::vector<nghttp2_nv> nva = Nvs(headers);
    nghttp2_data_provider data{};
    data.source.ptr = call;
    data.read_callback = Callbacks::ReadAnswer;
    nghttp2_submit_response(h2, call->stream_id, nva.data(), nva.size(), &data);
    return;
  }
  // Trailers-only: one HEADERS that ends the stream.
  headers.insert(headers.end(), trailers.begin(), trailers.end());
  const std::vector<nghttp2_nv> nva = Nvs(headers);
  nghttp2_submit_response(h2, call->stream_id, nva.data(), nva.size(), nullptr);
}

}  // namespace knbench::local_serving
