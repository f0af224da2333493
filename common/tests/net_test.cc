#include "knbench/common/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench {
namespace {

using ::testing::HasSubstr;

// A listener on 127.0.0.1 set up the way gRPC sets up its own: with
// SO_REUSEPORT, which lets a second SO_REUSEPORT socket share the port.
class ReusePortListener {
 public:
  ReusePortListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, 4) != 0) {
      return;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~ReusePortListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(NetTest, PortHeldByAReusePortListenerIsInUse) {
  int port = 0;
  {
    ReusePortListener listener;
    port = listener.port();
    ASSERT_GT(port, 0);
    for (const char* address : {"127.0.0.1", "0.0.0.0"}) {
      absl::Status status = CheckPortFree(address, port);
      ASSERT_FALSE(status.ok()) << address;
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr(absl::StrCat("port ", port, " is already in use")));
    }
  }
  // Free again once the listener is gone.
  EXPECT_TRUE(CheckPortFree("127.0.0.1", port).ok());
  EXPECT_TRUE(CheckPortFree("127.0.0.1", 0).ok());
}

TEST(NetTest, BindAddressMustBeNumeric) {
  for (const char* good : {"0.0.0.0", "127.0.0.1", "::", "::1"}) {
    EXPECT_TRUE(CheckBindAddress(good, "--bind").ok()) << good;
  }
  for (const char* bad :
       {"", "localhost", "1.2.3", "300.1.1.1", "0.0.0.0:80"}) {
    absl::Status status = CheckBindAddress(bad, "--bind");
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_THAT(std::string(status.message()), HasSubstr("--bind"));
  }
  EXPECT_EQ(JoinHostPort("127.0.0.1", 80), "127.0.0.1:80");
  EXPECT_EQ(JoinHostPort("::1", 80), "[::1]:80");
}

}  // namespace
}  // namespace knbench
