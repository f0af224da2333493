#ifndef KNBENCH_WORKER_CQ_TAG_H_
#define KNBENCH_WORKER_CQ_TAG_H_

#include "grpcpp/completion_queue.h"

namespace knbench::worker {

// A completion-queue tag: the thread polling the queue calls Run with the
// event's `ok`. Every operation the worker starts on its queue passes one.
class CqTag {
 public:
  virtual void Run(bool ok) = 0;

 protected:
  ~CqTag() = default;
};

// A tag that calls `Method` of its owner, so that one call object can have a
// tag per kind of event without an allocation per event.
template <typename T, void (T::*Method)(bool)>
class MemberTag final : public CqTag {
 public:
  explicit MemberTag(T* owner) : owner_(owner) {}
  void Run(bool ok) override { (owner_->*Method)(ok); }

 private:
  T* const owner_;
};

// Runs every event of `cq` on the calling thread until the queue is shut
// down and drained. One thread per queue: an event is handled where it was
// polled, never handed to another thread.
void PollUntilShutdown(grpc::CompletionQueue* cq);

}  // namespace knbench::worker

#endif  // KNBENCH_WORKER_CQ_TAG_H_
