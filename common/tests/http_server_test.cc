#include "knbench/common/http_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "knbench/testing/http_client.h"
#include "knbench/testing/wait.h"

namespace knbench {
namespace {

using ::knbench::testing::ConnectLoopback;
using ::knbench::testing::HttpGet;
using ::knbench::testing::SendRaw;
using ::knbench::testing::WaitUntil;
using ::testing::HasSubstr;

std::string WriteTempFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  return path;
}

// True once the server closed `fd` (reads EOF or a reset), within `timeout`.
bool ClosedByServer(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    if (poll(&p, 1, left) <= 0) continue;
    if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0) return true;
  }
  return false;
}

// Clients that send a request head a line at a time and never finish it.
class TricklingClients {
 public:
  TricklingClients(int port, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = ConnectLoopback(port);
      if (fd < 0) break;
      send(fd, "GET /hello HTTP/1.1\r\n", 21, MSG_NOSIGNAL);
      fds_.push_back(fd);
    }
  }
  ~TricklingClients() {
    for (int fd : fds_) close(fd);
  }
  size_t connected() const { return fds_.size(); }
  // One more header line on every connection.
  void Trickle() {
    for (int fd : fds_) send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
  }
  // How many the server has closed, waiting up to `timeout` for each.
  int ClosedWithin(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    int closed = 0;
    for (int fd : fds_) {
      if (ClosedByServer(
              fd, std::max(absl::ZeroDuration(), deadline - absl::Now()))) {
        ++closed;
      }
    }
    return closed;
  }

 private:
  std::vector<int> fds_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Handle("/hello", [] {
      return HttpResponse{200, "text/plain", "hi there"};
    });
    ASSERT_TRUE(server_.Start("127.0.0.1", 0).ok());
    ASSERT_GT(server_.port(), 0);
  }
  HttpServer server_;
};

TEST_F(HttpServerTest, ServesRegisteredPathWithLengthAndType) {
  auto response = HttpGet(server_.port(), "/hello?x=1");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hi there");
  EXPECT_THAT(response->head, HasSubstr("Content-Length: 8"));
  EXPECT_THAT(response->head, HasSubstr("Content-Type: text/plain"));
}

TEST_F(HttpServerTest, UnknownPathIs404AndOtherMethodsAre405) {
  EXPECT_EQ(HttpGet(server_.port(), "/nope")->status, 404);
  auto post = SendRaw(server_.port(),
                      "POST /hello HTTP/1.1\r\nConnection: close\r\n"
                      "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->substr(0, 12), "HTTP/1.1 405");
  EXPECT_THAT(*post, HasSubstr("Allow: GET, HEAD"));
}

TEST_F(HttpServerTest, HeadHasNoBody) {
  auto head = SendRaw(server_.port(),
                      "HEAD /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->substr(0, 12), "HTTP/1.1 200");
  EXPECT_THAT(*head, HasSubstr("Content-Length: 8"));
  EXPECT_EQ(head->find("hi there"), std::string::npos);
}

TEST_F(HttpServerTest, HandlersAddedAfterStartAreServed) {
  server_.Handle("/late", [] {
    return HttpResponse{200, "text/csv", "a,b\n"};
  });
  EXPECT_EQ(HttpGet(server_.port(), "/late")->body, "a,b\n");
}

// Prometheus keeps its connection between scrapes.
TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const int fd = ConnectLoopback(server_.port());
  ASSERT_GE(fd, 0);
  std::string received;
  char buf[4096];
  for (int i = 1; i <= 3; ++i) {
    const std::string request = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    // Each answer arrives while the connection stays open.
    ASSERT_TRUE(WaitUntil(
        [&] {
          const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
          if (n > 0) received.append(buf, static_cast<size_t>(n));
          size_t count = 0;
          for (size_t at = received.find("hi there"); at != std::string::npos;
               at = received.find("hi there", at + 1)) {
            ++count;
          }
          return count == static_cast<size_t>(i);
        },
        absl::Seconds(10)))
        << received;
  }
  EXPECT_EQ(received.find("Connection: close"), std::string::npos);
  close(fd);
}

TEST_F(HttpServerTest, FileResponsesAreStreamedWhole) {
  std::string content;
  for (int i = 0; i < 50000; ++i) content += absl::StrCat(i, ",row\n");
  const std::string path = WriteTempFile("http_server_test.csv", content);
  server_.Handle("/file",
                 [path] { return HttpResponse::File(path, "text/csv"); });
  server_.Handle("/missing", [] {
    return HttpResponse::File("/nonexistent/file.csv", "text/csv");
  });
  auto response = HttpGet(server_.port(), "/file");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->head,
              HasSubstr(absl::StrCat("Content-Length: ", content.size())));
  EXPECT_THAT(response->head, HasSubstr("Accept-Ranges: bytes"));
  EXPECT_EQ(response->body, content);
  auto missing = HttpGet(server_.port(), "/missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 500);
  EXPECT_THAT(missing->body, HasSubstr("/nonexistent/file.csv"));
}

// A large download through the API server's proxy can resume where it broke.
TEST_F(HttpServerTest, RangeRequestsServeThePartAskedFor) {
  const std::string content = "0123456789abcdefghij";  // 20 bytes
  const std::string path = WriteTempFile("range.csv", content);
  server_.Handle("/file",
                 [path] { return HttpResponse::File(path, "text/csv"); });
  struct Case {
    std::string range;
    int status;
    std::string body;
    std::string content_range;
  };
  for (const Case& c : std::vector<Case>{
           {"bytes=10-14", 206, "abcde", "bytes 10-14/20"},
           {"bytes=15-", 206, "fghij", "bytes 15-19/20"},
           {"bytes=-3", 206, "hij", "bytes 17-19/20"},
           {"bytes=18-100", 206, "ij", "bytes 18-19/20"},
           {"bytes=20-", 416, "", "bytes */20"},
           {"bytes=0-1,5-6", 200, content, ""},  // several: the whole file
           {"lines=1-2", 200, content, ""},
       }) {
    auto response = HttpGet(server_.port(), "/file", 5000,
                            absl::StrCat("Range: ", c.range, "\r\n"));
    ASSERT_TRUE(response.ok()) << c.range << ": " << response.status();
    EXPECT_EQ(response->status, c.status) << c.range;
    EXPECT_EQ(response->body, c.body) << c.range;
    if (!c.content_range.empty()) {
      EXPECT_THAT(response->head,
                  HasSubstr("Content-Range: " + c.content_range))
          << c.range;
    }
  }
}

// The driver's --linger counts a result file as fetched only when a GET sent
// it to its end: not for HEAD, not for a download that broke off.
TEST_F(HttpServerTest, OnCompleteOnlyWhenAGetSentTheWholeFile) {
  const std::string content(16 << 20, 'x');  // far more than socket buffers
  const std::string path = WriteTempFile("complete.bin", content);
  std::atomic<int> completed{0};
  std::atomic<int> served{0};
  server_.Handle("/file", [&, path] {
    ++served;
    HttpResponse response = HttpResponse::File(path, "text/plain");
    response.on_complete = [&] { ++completed; };
    return response;
  });
  auto head = SendRaw(server_.port(),
                      "HEAD /file HTTP/1.1\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(head.ok());
  EXPECT_THAT(*head, HasSubstr("200"));

  // Read a little, then reset the connection: the server's next sendfile()
  // meets EPIPE, which must close that connection, not raise SIGPIPE in
  // this process.
  const int fd = ConnectLoopback(server_.port());
  ASSERT_GE(fd, 0);
  const std::string get = "GET /file HTTP/1.1\r\nConnection: close\r\n\r\n";
  send(fd, get.data(), get.size(), MSG_NOSIGNAL);
  char buf[65536];
  ASSERT_GT(recv(fd, buf, sizeof(buf), 0), 0);
  linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd);

  auto full = HttpGet(server_.port(), "/file", 30000);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->body.size(), content.size());
  // The tail, as a resumed download asks for it, also reaches the end.
  auto tail = HttpGet(server_.port(), "/file", 30000, "Range: bytes=100-\r\n");
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->status, 206);
  ASSERT_TRUE(WaitUntil([&] { return completed.load() >= 2; }));
  EXPECT_EQ(served.load(), 4);
  EXPECT_EQ(completed.load(), 2);
}

TEST_F(HttpServerTest,
       MalformedAndOversizedRequestsGetErrorsAndServerSurvives) {
  auto garbage = SendRaw(server_.port(), "\x01\x02garbage\r\n\r\n");
  ASSERT_TRUE(garbage.ok());
  EXPECT_THAT(garbage->substr(0, 12), ::testing::MatchesRegex("HTTP/1.. 4.."));
  auto huge = SendRaw(server_.port(), "GET /" + std::string(20000, 'a'));
  ASSERT_TRUE(huge.ok());
  EXPECT_THAT(huge->substr(0, 12), ::testing::MatchesRegex("HTTP/1.. 4.."));
  // A client that connects and says nothing must not block others.
  auto silent = SendRaw(server_.port(), "", 100);
  EXPECT_FALSE(silent.ok());
  EXPECT_EQ(HttpGet(server_.port(), "/hello")->status, 200);
}

// A process forked while a connection is open (local serving forks its
// pods) holds a copy of the socket until it execs or exits. Closing ours
// then leaves the socket in the epoll set: without taking it out first, the
// loop got events (EOF, readable for ever) for a connection it had freed, a
// use-after-free that ASan (scripts/sanitize.sh) reports here.
TEST_F(HttpServerTest, ASocketAForkedChildStillHoldsGivesNoMoreEvents) {
  std::atomic<pid_t> child{0};
  server_.Handle("/fork", [&child] {
    const pid_t pid = fork();
    if (pid == 0) {  // holds every descriptor until killed, or we die
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      pause();
      _exit(0);
    }
    child = pid;
    return HttpResponse{200, "text/plain", "forked"};
  });
  // The child holds this end too, so only a shutdown tells the server the
  // client is done.
  const int fd = ConnectLoopback(server_.port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /fork HTTP/1.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;)
    answer.append(buf, n);
  EXPECT_THAT(answer, HasSubstr("forked"));
  shutdown(fd, SHUT_WR);
  // The server has closed its side; the child's copy stays open while the
  // loop goes on serving.
  for (int i = 0; i < 20; ++i) {
    auto hello = HttpGet(server_.port(), "/hello");
    ASSERT_TRUE(hello.ok()) << hello.status();
    EXPECT_EQ(hello->body, "hi there");
  }
  close(fd);
  ASSERT_GT(child.load(), 0);
  kill(child.load(), SIGKILL);
  waitpid(child.load(), nullptr, 0);
}

// 500 clients trickling their headers hold connections, yet scrapes and
// probes get their answer at once, and stopping the server is bounded.
TEST(HttpServerSlowClientsTest, ScrapesAnswerWhile500SlowClientsAreConnected) {
  auto server = std::make_unique<HttpServer>();
  server->Handle("/hello", [] {
    return HttpResponse{200, "text/plain", "hi"};
  });
  ASSERT_TRUE(server->Start("127.0.0.1", 0).ok());
  TricklingClients slow(server->port(), 500);
  ASSERT_EQ(slow.connected(), 500u);
  for (int i = 0; i < 4; ++i) {
    slow.Trickle();
    const absl::Time start = absl::Now();
    auto response = HttpGet(server->port(), "/hello", 2000);
    ASSERT_TRUE(response.ok()) << "scrape " << i << ": " << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
    absl::SleepFor(absl::Milliseconds(250));  // the clients' pace
  }
  const absl::Time stop_start = absl::Now();
  server.reset();
  const absl::Duration stop_took = absl::Now() - stop_start;
  EXPECT_LT(stop_took, absl::Seconds(4)) << "Stop with 500 slow clients";
}

// A head that keeps arriving, a line at a time, is still cut off at the
// whole-request deadline.
TEST(HttpServerSlowClientsTest, WholeRequestDeadlineCutsTricklingClients) {
  HttpServerOptions options;
  options.request_deadline = absl::Seconds(1);
  HttpServer server(options);
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  const absl::Time start = absl::Now();
  TricklingClients slow(server.port(), 20);
  ASSERT_EQ(slow.connected(), 20u);
  // A line every 200 ms: never silent long enough for a per-read timeout.
  int closed = 0;
  while (absl::Now() - start < absl::Seconds(4)) {
    slow.Trickle();
    absl::SleepFor(absl::Milliseconds(200));
  }
  closed = slow.ClosedWithin(absl::Seconds(1));
  EXPECT_EQ(closed, 20);
}

TEST(HttpServerStartTest, BusyPortIsAClearError) {
  HttpServer first;
  ASSERT_TRUE(first.Start("127.0.0.1", 0).ok());
  HttpServer second;
  absl::Status status = second.Start("127.0.0.1", first.port());
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot listen"));
  HttpServer bad_address;
  EXPECT_FALSE(bad_address.Start("localhost", 0).ok());
}

}  // namespace
}  // namespace knbench
