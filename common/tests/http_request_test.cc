#include "knbench/common/http_request.h"

#include <string>

#include "gtest/gtest.h"

namespace knbench {
namespace {

constexpr size_t kMax = 8192;

TEST(HttpRequestTest, CompleteHeadGivesMethodPathAndLength) {
  const std::string head =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nRange: bytes=1-2\r\n\r\n";
  HttpHeadParse p = ParseHttpRequestHead(head + "GET /next", kMax);
  ASSERT_EQ(p.state, HttpHeadParse::kComplete) << p.error;
  EXPECT_EQ(p.length, head.size());
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.path, "/metrics");
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_FALSE(p.head.has_body);
  EXPECT_EQ(p.head.range, "bytes=1-2");
}

TEST(HttpRequestTest, PartialHeadIsIncompleteUntilTheBlankLine) {
  for (const char* partial : {"G", "GET /metrics HT", "GET / HTTP/1.1\r\n",
                              "GET / HTTP/1.1\r\nHost: a\r\n"}) {
    EXPECT_EQ(ParseHttpRequestHead(partial, kMax).state,
              HttpHeadParse::kIncomplete)
        << partial;
  }
}

TEST(HttpRequestTest, KeepAliveFollowsVersionAndConnectionHeader) {
  auto keep = [](const std::string& head) {
    HttpHeadParse p = ParseHttpRequestHead(head, kMax);
    EXPECT_EQ(p.state, HttpHeadParse::kComplete) << head;
    return p.head.keep_alive;
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  // Bare LF line ends are accepted too.
  EXPECT_TRUE(keep("GET / HTTP/1.1\nHost: x\n\n"));
}

TEST(HttpRequestTest, BodiesAreNoticedSoTheConnectionCloses) {
  EXPECT_TRUE(ParseHttpRequestHead(
                  "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", kMax)
                  .head.has_body);
  EXPECT_TRUE(ParseHttpRequestHead(
                  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", kMax)
                  .head.has_body);
  EXPECT_FALSE(
      ParseHttpRequestHead("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", kMax)
          .head.has_body);
}

TEST(HttpRequestTest, PathIsPercentDecodedAndAbsoluteFormReduced) {
  EXPECT_EQ(
      ParseHttpRequestHead("GET /a%2Fb%20c HTTP/1.1\r\n\r\n", kMax).head.path,
      "/a/b c");
  EXPECT_EQ(
      ParseHttpRequestHead("GET http://host:1/metrics HTTP/1.1\r\n\r\n", kMax)
          .head.path,
      "/metrics");
}

TEST(HttpRequestTest, ErrorsCarryTheStatusToAnswer) {
  struct Case {
    std::string request;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"GARBAGE\r\n\r\n", 400},
           {"GET\r\n\r\n", 400},
           {"\x01\x02garbage", 400},  // answered before any line end
           {"GET /metrics HTTP/9.9\r\n\r\n", 505},
           {"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
           {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400},
           {"GET /%zz HTTP/1.1\r\n\r\n", 400},
           {"GET /%00 HTTP/1.1\r\n\r\n", 400},
           {"GET nopath HTTP/1.1\r\n\r\n", 400},
           {"GET / HTTP/1.1\r\n folded\r\n\r\n", 400},
           {"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400},
           {"GET /" + std::string(9000, 'a'), 414},
           {"GET / HTTP/1.1\r\n" + std::string(9000, 'h'), 431},
       }) {
    HttpHeadParse p = ParseHttpRequestHead(c.request, kMax);
    EXPECT_EQ(p.state, HttpHeadParse::kError) << c.request.substr(0, 40);
    EXPECT_EQ(p.error_status, c.status) << c.request.substr(0, 40);
    EXPECT_FALSE(p.error.empty());
  }
}

TEST(HttpRequestTest, ByteRanges) {
  auto range = [](const char* header) { return ParseByteRange(header, 20); };
  EXPECT_EQ(range("bytes=10-14").kind, ByteRange::kPartial);
  EXPECT_EQ(range("bytes=10-14").last, 14);
  EXPECT_EQ(range("bytes=-3").first, 17);
  EXPECT_EQ(range("bytes=18-100").last, 19);
  EXPECT_EQ(range("bytes=20-").kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(range("bytes=0-1,5-6").kind, ByteRange::kWhole);
  EXPECT_EQ(range("bytes=5-2").kind, ByteRange::kWhole);
  EXPECT_EQ(ParseByteRange("bytes=-5", 0).kind, ByteRange::kUnsatisfiable);
}

}  // namespace
}  // namespace knbench
