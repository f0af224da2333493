// The picker of a pod's two ports: never the same number twice, never a
// port another pod was given, and both free when it returns.
#include "knbench/local_serving/pod_ports.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <set>

#include "gtest/gtest.h"

namespace knbench::local_serving {
namespace {

// Hands out the scripted port numbers in order (nothing is bound).
class ScriptedPorts {
 public:
  explicit ScriptedPorts(std::deque<int> ports) : ports_(std::move(ports)) {}
  absl::StatusOr<HeldPort> operator()() {
    if (ports_.empty()) return absl::UnavailableError("script ran out");
    const int port = ports_.front();
    ports_.pop_front();
    ++calls_;
    return HeldPort(-1, port);
  }
  int calls() const { return calls_; }

 private:
  std::deque<int> ports_;
  int calls_ = 0;
};

absl::StatusOr<PodPorts> Pick(ScriptedPorts& script, std::set<int> taken) {
  return PickPodPorts([&script] { return script(); }, taken);
}

TEST(PickPodPorts, TheSameNumberTwiceIsNotAPair) {
  ScriptedPorts script({40000, 40000, 40001});
  const absl::StatusOr<PodPorts> ports = Pick(script, {});
  ASSERT_TRUE(ports.ok()) << ports.status();
  EXPECT_EQ(ports->grpc, 40000);
  EXPECT_EQ(ports->metrics, 40001);
}

TEST(PickPodPorts, PortsGivenToOtherPodsAreSkipped) {
  ScriptedPorts script({40000, 40002, 40001, 40003, 40004});
  const absl::StatusOr<PodPorts> ports = Pick(script, {40000, 40001, 40003});
  ASSERT_TRUE(ports.ok()) << ports.status();
  EXPECT_EQ(ports->grpc, 40002);
  EXPECT_EQ(ports->metrics, 40004);
}

TEST(PickPodPorts, GivesUpAfterBoundedTriesWithAnError) {
  ScriptedPorts script(std::deque<int>(1000, 40000));
  const absl::StatusOr<PodPorts> ports = Pick(script, {40000});
  EXPECT_FALSE(ports.ok());
  EXPECT_LE(script.calls(), 100);
}

TEST(PickPodPorts, AFailingBindIsTheError) {
  ScriptedPorts script({});
  EXPECT_EQ(Pick(script, {}).status().message(), "script ran out");
}

bool CanListen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      listen(fd, 1) == 0;
  close(fd);
  return ok;
}

// The real kernel: a burst of pods' picks, each given the ports picked
// before it as taken (as the pod manager does), never repeats a port.
TEST(PickPodPorts, ABurstOfRealPicksNeverRepeatsAPortAndEachIsFree) {
  std::set<int> taken;
  for (int pod = 0; pod < 50; ++pod) {
    const absl::StatusOr<PodPorts> ports = PickPodPorts("127.0.0.1", taken);
    ASSERT_TRUE(ports.ok()) << ports.status();
    EXPECT_NE(ports->grpc, ports->metrics);
    EXPECT_EQ(taken.count(ports->grpc), 0u);
    EXPECT_EQ(taken.count(ports->metrics), 0u);
    EXPECT_TRUE(CanListen(ports->grpc));
    EXPECT_TRUE(CanListen(ports->metrics));
    taken.insert({ports->grpc, ports->metrics});
  }
  EXPECT_EQ(taken.size(), 100u);
}

TEST(PickPodPorts, NotAnIpv4AddressIsAnError) {
  EXPECT_FALSE(PickPodPorts("::1", {}).ok());
}

}  // namespace
}  // namespace knbench::local_serving
