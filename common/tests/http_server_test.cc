#include "knbench/common/http_server.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "knbench/testing/http_client.h"

namespace knbench {
namespace {

using ::knbench::testing::HttpGet;
using ::knbench::testing::SendRaw;

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
  EXPECT_NE(response->head.find("Content-Length: 8"), std::string::npos);
  EXPECT_NE(response->head.find("Content-Type: text/plain"), std::string::npos);
}

TEST_F(HttpServerTest, UnknownPathIs404AndOtherMethodsAre405) {
  EXPECT_EQ(HttpGet(server_.port(), "/nope")->status, 404);
  auto post = SendRaw(server_.port(), "POST /hello HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->substr(0, 12), "HTTP/1.1 405");
}

TEST_F(HttpServerTest, HeadHasNoBody) {
  auto head = SendRaw(server_.port(), "HEAD /hello HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(head->find("hi there"), std::string::npos);
}

TEST_F(HttpServerTest, HandlersAddedAfterStartAreServed) {
  server_.Handle("/late", [] {
    return HttpResponse{200, "text/csv", "a,b\n"};
  });
  EXPECT_EQ(HttpGet(server_.port(), "/late")->body, "a,b\n");
}

TEST_F(HttpServerTest, FileResponsesAreStreamedWhole) {
  const std::string path = ::testing::TempDir() + "/http_server_test.csv";
  std::string content;
  for (int i = 0; i < 50000; ++i) content += absl::StrCat(i, ",row\n");
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  server_.Handle("/file",
                 [path] { return HttpResponse::File(path, "text/csv"); });
  server_.Handle("/missing", [] {
    return HttpResponse::File("/nonexistent/file.csv", "text/csv");
  });
  auto response = HttpGet(server_.port(), "/file");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(
      response->head.find(absl::StrCat("Content-Length: ", content.size())),
      std::string::npos);
  EXPECT_EQ(response->body, content);
  auto missing = HttpGet(server_.port(), "/missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 500);
  EXPECT_NE(missing->body.find("/nonexistent/file.csv"), std::string::npos);
}

TEST_F(HttpServerTest,
       MalformedAndOversizedRequestsGetErrorsAndServerSurvives) {
  auto garbage = SendRaw(server_.port(), "\x01\x02garbage\r\n\r\n");
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->substr(0, 12), "HTTP/1.1 400");
  auto huge = SendRaw(server_.port(), "GET /" + std::string(20000, 'a'));
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->substr(0, 12), "HTTP/1.1 413");
  // A client that connects and says nothing must not block others.
  auto silent = SendRaw(server_.port(), "", 100);
  EXPECT_FALSE(silent.ok());
  EXPECT_EQ(HttpGet(server_.port(), "/hello")->status, 200);
}

TEST(HttpServerStartTest, BusyPortIsAClearError) {
  HttpServer first;
  ASSERT_TRUE(first.Start("127.0.0.1", 0).ok());
  HttpServer second;
  absl::Status status = second.Start("127.0.0.1", first.port());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot listen"), std::string::npos);
}

}  // namespace
}  // namespace knbench
