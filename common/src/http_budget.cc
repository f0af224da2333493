#include "http_budget.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace knbench::http_internal {

std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  } else if (peer.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
  }
  return text;
}

ConnectionBudget::ConnectionBudget(int max_total, int max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionBudget::Admission ConnectionBudget::Admit(
    const std::string& address) const {
  auto own = peers_.find(address);
  if (own != peers_.end() && own->second.held >= max_per_address_) {
    // Only one of its own frees a place in its budget.
    if (own->second.waiting.empty()) return {};
    return {true, own->second.waiting.begin()->second};
  }
  if (total() < max_total_) return {true, std::nullopt};
  const Peer* heaviest = Heaviest();
  if (heaviest == nullptr) return {};
  return {true, heaviest->waiting.begin()->second};
}

const ConnectionBudget::Peer* ConnectionBudget::Heaviest() const {
  const Peer* heaviest = nullptr;
  for (const auto& [address, peer] : peers_) {
    if (peer.waiting.empty()) continue;
    if (heaviest == nullptr || peer.held > heaviest->held ||
        (peer.held == heaviest->held &&
         peer.waiting.begin()->first < heaviest->waiting.begin()->first)) {
      heaviest = &peer;
    }
  }
  return heaviest;
}

void ConnectionBudget::Add(Id id, const std::string& address) {
  conns_[id].address = address;
  ++peers_[address].held;
  Waiting(id);
}

void ConnectionBudget::Waiting(Id id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Busy(id);
  it->second.waiting_since = next_wait_++;
  peers_[it->second.address].waiting.emplace(it->second.waiting_since, id);
}

void ConnectionBudget::Busy(Id id) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second.waiting_since == 0) return;
  peers_[it->second.address].waiting.erase(it->second.waiting_since);
  it->second.waiting_since = 0;
}

void ConnectionBudget::Remove(Id id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Busy(id);
  auto peer = peers_.find(it->second.address);
  if (--peer->second.held == 0) peers_.erase(peer);
  conns_.erase(it);
}

int ConnectionBudget::held(const std::string& address) const {
  auto it = peers_.find(address);
  return it == peers_.end() ? 0 : it->second.held;
}

}  // namespace knbench::http_internal
