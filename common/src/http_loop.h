// The serving thread of an HttpServer: accepts, reads, answers and times
// out every connection with level-triggered epoll.
#ifndef KNBENCH_COMMON_SRC_HTTP_LOOP_H_
#define KNBENCH_COMMON_SRC_HTTP_LOOP_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/status/status.h"
#include "http_answer.h"
#include "http_budget.h"
#include "knbench/common/http_server.h"

namespace knbench {
namespace http_internal {

using SteadyClock = std::chrono::steady_clock;

// One client connection and the state of its current request.
struct Conn {
  enum Phase { kReading, kWriting, kDraining };

  int fd = -1;
  uint64_t id = 0;  // Never reused, unlike fd numbers.
  Phase phase = kReading;
  std::string in;  // Received and not yet parsed as a request.
  bool request_started = false;
  SteadyClock::time_point deadline;
  uint32_t events = 0;  // Registered with epoll.

  // The response being written: `out` (head, and body unless a file), then
  // `file_left` bytes of `file_fd` from `file_offset`.
  std::string out;
  size_t out_done = 0;
  int file_fd = -1;
  off_t file_offset = 0;
  int64_t file_left = 0;
  bool close_after = false;
  bool reaches_end = false;  // A GET whose body ends with the resource.
  std::function<void()> on_complete;
};

}  // namespace http_internal

class HttpServer::Loop {
 public:
  Loop(HttpServer* server, int listen_fd);
  ~Loop();
  absl::Status Start();
  void Stop();

 private:
  using Conn = http_internal::Conn;
  using SteadyClock = http_internal::SteadyClock;

  void Run();
  int TimeoutMs() const;
  void ExpireAndCollect();
  void Accept();
  bool MakeRoom(const std::string& address);
  void Read(Conn* conn);
  void Process(Conn* conn);
  void Respond(Conn* conn, http_internal::Answer answer, bool keep_alive);
  void StartWriting(Conn* conn, bool keep_alive);
  void Write(Conn* conn);
  void WaitWritable(Conn* conn, bool progress);
  void FinishResponse(Conn* conn);
  void SetEvents(Conn* conn, uint32_t events);
  static void CloseFiles(Conn* conn);
  void Close(Conn* conn);

  HttpServer* const server_;
  const HttpServerOptions options_;
  int listen_fd_;
  int epoll_fd_;
  int wake_fd_;
  // Keyed by id: a closed connection stays until the end of its event
  // batch, and its fd number may meanwhile be reused by a new one.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;  // Loop thread.
  uint64_t next_id_ = 1;                                       // Loop thread.
  http_internal::ConnectionBudget budget_;                     // Loop thread.
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace knbench

#endif  // KNBENCH_COMMON_SRC_HTTP_LOOP_H_
