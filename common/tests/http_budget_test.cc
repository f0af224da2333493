#include "http_budget.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace knbench::http_internal {
namespace {

using Admission = ConnectionBudget::Admission;

bool Admitted(const Admission& a) { return a.admit && !a.evict; }
bool Evicts(const Admission& a, ConnectionBudget::Id id) {
  return a.admit && a.evict == id;
}
bool Refused(const Admission& a) { return !a.admit && !a.evict; }

// Adds connections 1, 2, ... from `addresses`, in that order.
void AddAll(ConnectionBudget& budget,
            const std::vector<std::string>& addresses) {
  for (size_t i = 0; i < addresses.size(); ++i) {
    budget.Add(i + 1, addresses[i]);
  }
}

TEST(ConnectionBudgetTest, AdmitsUnderBothLimits) {
  ConnectionBudget budget(/*max_total=*/4, /*max_per_address=*/2);
  EXPECT_TRUE(Admitted(budget.Admit("10.0.0.1")));
  budget.Add(1, "10.0.0.1");
  EXPECT_TRUE(Admitted(budget.Admit("10.0.0.1")));
  budget.Add(2, "10.0.0.1");
  EXPECT_EQ(budget.held("10.0.0.1"), 2);
  EXPECT_EQ(budget.total(), 2);
  EXPECT_TRUE(Admitted(budget.Admit("10.0.0.2")));
}

// At its own limit an address makes room from its own connections, the one
// that has waited longest first, and never from one being answered.
TEST(ConnectionBudgetTest, AtItsLimitAnAddressLetsGoOfItsOwnOldestWaiting) {
  ConnectionBudget budget(10, 3);
  // The last, another address's, is never taken for 10.0.0.1.
  AddAll(budget, {"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"});
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.1"), 1));
  budget.Busy(1);  // answering: kept
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.1"), 2));
  budget.Waiting(2);  // answered, waits again: now the newest
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.1"), 3));
  budget.Busy(2);
  budget.Busy(3);
  EXPECT_TRUE(Refused(budget.Admit("10.0.0.1")));
  EXPECT_TRUE(Admitted(budget.Admit("10.0.0.2")));
  budget.Remove(3);
  EXPECT_TRUE(Admitted(budget.Admit("10.0.0.1")));
}

// With every place taken, the address that holds the most gives one up,
// even to itself; a light address's idle connection is kept.
TEST(ConnectionBudgetTest, WhenFullTheHeaviestAddressMakesRoom) {
  ConnectionBudget budget(4, 10);
  // The first has waited longest, but is alone at its address.
  AddAll(budget, {"10.0.0.9", "10.0.0.1", "10.0.0.1", "10.0.0.1"});
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.2"), 2));
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.1"), 2));
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.9"), 2));
  // Its waiting ones all busy, the next heaviest with one waiting gives.
  budget.Busy(2);
  budget.Busy(3);
  budget.Busy(4);
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.2"), 1));
  budget.Busy(1);
  EXPECT_TRUE(Refused(budget.Admit("10.0.0.2")));
}

// Equal holders: the connection that has waited longest goes.
TEST(ConnectionBudgetTest, AmongEqualHoldersTheLongestWaitingGoes) {
  ConnectionBudget budget(3, 10);
  AddAll(budget, {"10.0.0.1", "10.0.0.2", "10.0.0.3"});
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.4"), 1));
  budget.Waiting(1);  // a kept-alive connection that was just used
  EXPECT_TRUE(Evicts(budget.Admit("10.0.0.4"), 2));
}

TEST(ConnectionBudgetTest, RemoveFreesThePlaceAndForgetsTheAddress) {
  ConnectionBudget budget(1, 1);
  budget.Add(7, "10.0.0.1");
  budget.Busy(7);
  EXPECT_TRUE(Refused(budget.Admit("10.0.0.2")));
  budget.Remove(7);
  budget.Remove(7);  // twice is harmless
  EXPECT_EQ(budget.total(), 0);
  EXPECT_EQ(budget.held("10.0.0.1"), 0);
  EXPECT_TRUE(Admitted(budget.Admit("10.0.0.1")));
}

sockaddr_storage V4(const char* text) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(1234);
  inet_pton(AF_INET, text, &v4->sin_addr);
  return s;
}

sockaddr_storage V6(const char* text) {
  sockaddr_storage s{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(1234);
  inet_pton(AF_INET6, text, &v6->sin6_addr);
  return s;
}

// The port is not part of a client: each connection has its own.
TEST(PeerAddressTest, IsTheIpAddressWithMappedIpv4AsIpv4) {
  EXPECT_EQ(PeerAddress(V4("127.0.0.2")), "127.0.0.2");
  EXPECT_EQ(PeerAddress(V6("::ffff:127.0.0.2")), "127.0.0.2");
  EXPECT_EQ(PeerAddress(V6("2001:db8::1")), "2001:db8::1");
  EXPECT_EQ(PeerAddress(sockaddr_storage{}), "");
}

}  // namespace
}  // namespace knbench::http_internal
