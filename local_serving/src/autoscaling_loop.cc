#include "knbench/local_serving/autoscaling_loop.h"

namespace knbench::local_serving {

TimedLoop::~TimedLoop() {
  // A derived loop stops its thread in its own destructor (Step is its);
  // this only catches a loop that never did.
  if (thread_.joinable()) thread_.join();
}

void TimedLoop::StartThread() {
  thread_ = std::thread([this] { Run(); });
}

void TimedLoop::Poke() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

bool TimedLoop::stopped() {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void TimedLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void TimedLoop::Run() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    clock_->AwaitWithDeadline(
        mu_,
        absl::Condition(
            +[](TimedLoop* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu_) {
              return l->poked_ || l->stop_;
            },
            this),
        Deadline());
    if (stop_) break;
    poked_ = false;
    Step(clock_->Now());
  }
}

}  // namespace knbench::local_serving
