// Which connections an HttpServer keeps when a new one arrives: each counts
// against its client's address and against the total, and room is made by
// letting go of a connection that is waiting for a request, never of one
// being answered. A client that keeps more partial connections open than
// the server holds, and reopens them as they drop, only pushes out its own.
#ifndef KNBENCH_COMMON_SRC_HTTP_BUDGET_H_
#define KNBENCH_COMMON_SRC_HTTP_BUDGET_H_

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace knbench::http_internal {

// The client's address as a budget counts it: the IP address alone, an
// IPv4-mapped IPv6 one as IPv4 (the same client on a dual-stack socket).
std::string PeerAddress(const sockaddr_storage& peer);

class ConnectionBudget {
 public:
  using Id = uint64_t;

  ConnectionBudget(int max_total, int max_per_address);

  // What admitting a new connection from `address` takes.
  struct Admission {
    bool admit = false;
    // When set, this connection is to be closed first (Remove), and the
    // new one is admitted after it.
    std::optional<Id> evict;
  };
  // Under both limits: admitted. At the address's limit: its own connection
  // that has waited longest for a request makes room, or, with all of them
  // being answered, it is refused. At the total: the one that has waited
  // longest of the address that holds the most connections makes room, or,
  // with none waiting anywhere, it is refused.
  Admission Admit(const std::string& address) const;

  // Counts connection `id` from `address`, waiting for its first request.
  void Add(Id id, const std::string& address);
  // `id` waits for its next request (or for its client to close): the
  // newest of the waiting, so the last to be let go.
  void Waiting(Id id);
  // `id` is being answered: kept until it is done.
  void Busy(Id id);
  void Remove(Id id);

  int total() const { return static_cast<int>(conns_.size()); }
  int held(const std::string& address) const;

 private:
  struct Peer {
    int held = 0;
    std::map<uint64_t, Id> waiting;  // By when it started waiting.
  };
  struct Entry {
    std::string address;
    uint64_t waiting_since = 0;  // 0: busy.
  };
  // The address holding the most connections of those with one waiting
  // (ties: the one whose connection has waited longest), or nullptr.
  const Peer* Heaviest() const;

  const int max_total_;
  const int max_per_address_;
  std::unordered_map<std::string, Peer> peers_;
  std::unordered_map<Id, Entry> conns_;
  uint64_t next_wait_ = 1;
};

}  // namespace knbench::http_internal

#endif  // KNBENCH_COMMON_SRC_HTTP_BUDGET_H_
