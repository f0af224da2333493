// One call through the router, and a pod as the router sees it (private to
// router.cc and router_call.cc).
#ifndef KNBENCH_LOCAL_SERVING_ROUTER_CALL_H_
#define KNBENCH_LOCAL_SERVING_ROUTER_CALL_H_

#include <atomic>
#include <list>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/byte_buffer.h"
#include "knbench/local_serving/router.h"

namespace knbench::local_serving {

struct Router::Pod {
  std::string name;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  // The rest is guarded by the router's mutex.
  int64_t inflight = 0;
  std::list<Call*> queue;  // its queue-proxy's queue
};

// One proxied call, driven by completion-queue events. The router's mutex
// guards the fields below `Guarded by the router's mutex`.
//
// Lifetime: once the call began, each operation in progress (reading,
// the pod's call, the answer, gRPC's done notification) holds a reference,
// taken under the router's mutex when the operation is decided; the last
// to end retires the call (Router::Retire).
class Router::Call {
 public:
  enum class State { kReading, kQueued, kUpstream, kAnswered };

  explicit Call(Router* router);

  void OnEvent(Op op, bool ok);

  // Reads the request message; Router::OnRead follows.
  void StartRead();
  // Sends the request to `pod`; Router::Release follows when it answers.
  void StartUpstream(Pod* pod, grpc::CompletionQueue* cq);
  // Sends the answer (the pod's response with an OK status). Its
  // reference was taken when the call was settled.
  void Finish(const grpc::Status& status);

  // The code the client saw when it ended the call itself: its deadline
  // (which the client's own timer enforces a moment before ours, as the
  // timeout header travels), else a cancellation.
  grpc::StatusCode CancelCode() const;

  const grpc::GenericServerContext& context() const { return context_; }
  size_t request_bytes() const { return request_.Length(); }
  void ForgetRequest() { request_.Clear(); }
  void CancelUpstream() { upstream_.TryCancel(); }

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // The last reference retires the call.
  void Unref();

  bool begun_ = false;  // accepted: it is reported when retired
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
  // Its waits so far (the trailers of wait_trailers.h): in the activator's
  // FIFO, in queue-proxy queues, and when it entered the queue it is in.
  absl::Duration activator_wait_;
  absl::Duration queue_wait_;
  absl::Time waiting_since_;
  // How it was answered, for the observer.
  grpc::StatusCode answer_code_ = grpc::StatusCode::OK;
  bool answered_by_pod_ = false;
  absl::Duration latency_;

  // Set by the done notification; read once the call is retired.
  bool client_ended_ = false;
  grpc::StatusCode client_code_ = grpc::StatusCode::CANCELLED;

 private:
  Router* const router_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ClientContext upstream_;
  grpc::Status upstream_status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader_;
  Tag accept_tag_;
  Tag read_tag_;
  Tag upstream_tag_;
  Tag finish_tag_;
  Tag done_tag_;
  std::atomic<int> refs_{0};
};

}  // namespace knbench::local_serving

#endif  // KNBENCH_LOCAL_SERVING_ROUTER_CALL_H_
