#include "knbench/common/h2_output.h"

#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"

namespace knbench {
namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A client session (its output: the preface, then SETTINGS) on one end of a
// non-blocking socket pair; the test reads the other end.
class H2OutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    ASSERT_EQ(fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
    ASSERT_EQ(fcntl(fds_[1], F_SETFL, O_NONBLOCK), 0);
    nghttp2_session_callbacks* callbacks = nullptr;
    ASSERT_EQ(nghttp2_session_callbacks_new(&callbacks), 0);
    ASSERT_EQ(nghttp2_session_client_new(&h2_, callbacks, nullptr), 0);
    nghttp2_session_callbacks_del(callbacks);
    ASSERT_EQ(nghttp2_submit_settings(h2_, NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  }
  void TearDown() override {
    nghttp2_session_del(h2_);
    close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  // Everything the peer can read now.
  std::string Drain() {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = read(fds_[1], buf, sizeof(buf))) > 0) got.append(buf, n);
    return got;
  }

  int fds_[2] = {-1, -1};
  nghttp2_session* h2_ = nullptr;
  H2Output out_;
  int h2_error_ = 0;
};

TEST_F(H2OutputTest, WritesEverythingQueuedAndLeavesNothingPending) {
  EXPECT_EQ(FlushH2(h2_, fds_[0], &out_, &h2_error_), H2Flush::kDone);
  EXPECT_FALSE(out_.Pending());
  const std::string got = Drain();
  EXPECT_EQ(got.rfind(kPreface, 0), 0u) << got.size();
  // The preface, then a 9-byte frame header of an empty SETTINGS frame.
  ASSERT_EQ(got.size(), sizeof(kPreface) - 1 + 9);
  EXPECT_EQ(got[sizeof(kPreface) - 1 + 3], NGHTTP2_SETTINGS);
  // Nothing queued: nothing written.
  EXPECT_EQ(FlushH2(h2_, fds_[0], &out_, &h2_error_), H2Flush::kDone);
  EXPECT_EQ(Drain(), "");
}

TEST_F(H2OutputTest, AFullSocketKeepsTheRestUntilItDrains) {
  // Fill the socket so that not even the preface fits.
  const std::string filler(4096, 'x');
  size_t filled = 0;
  ssize_t n;
  while ((n = write(fds_[0], filler.data(), filler.size())) > 0) filled += n;
  ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
  EXPECT_EQ(FlushH2(h2_, fds_[0], &out_, &h2_error_), H2Flush::kBlocked);
  EXPECT_TRUE(out_.Pending());
  const std::string first = Drain();
  EXPECT_GE(first.size(), filled);
  EXPECT_EQ(FlushH2(h2_, fds_[0], &out_, &h2_error_), H2Flush::kDone);
  EXPECT_FALSE(out_.Pending());
  const std::string all = first + Drain();
  EXPECT_EQ(all.substr(filled, sizeof(kPreface) - 1), kPreface);
  EXPECT_EQ(all.size(), filled + sizeof(kPreface) - 1 + 9);
}

TEST_F(H2OutputTest, AClosedPeerIsASocketError) {
  close(fds_[1]);
  fds_[1] = -1;
  EXPECT_EQ(FlushH2(h2_, fds_[0], &out_, &h2_error_), H2Flush::kSocketError);
  EXPECT_EQ(errno, EPIPE);
}

}  // namespace
}  // namespace knbench
