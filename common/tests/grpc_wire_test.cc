#include "knbench/common/grpc_wire.h"

#include <nghttp2/nghttp2.h>

#include "gtest/gtest.h"

namespace knbench::grpc_wire {
namespace {

TEST(GrpcWireTest, TimeoutsAreAtMostEightDigitsInTheFinestUnitRoundedUp) {
  EXPECT_EQ(GrpcTimeout(absl::Seconds(30)), "30000000u");
  EXPECT_EQ(GrpcTimeout(absl::Milliseconds(100)), "100000u");
  EXPECT_EQ(GrpcTimeout(absl::Nanoseconds(1500)), "1500n");
  EXPECT_EQ(GrpcTimeout(absl::Seconds(100000)), "100000S");
  EXPECT_EQ(GrpcTimeout(absl::Nanoseconds(100000001)), "100001u");
  EXPECT_EQ(GrpcTimeout(absl::ZeroDuration()), "1n");
  EXPECT_EQ(GrpcTimeout(-absl::Seconds(1)), "1n");
  EXPECT_EQ(GrpcTimeout(absl::Hours(2000000)), "2000000H");
}

TEST(GrpcWireTest, TimeoutsAreReadInEveryUnitAndWhatIsWrittenReadsBack) {
  EXPECT_EQ(ParseGrpcTimeout("100m"), absl::Milliseconds(100));
  EXPECT_EQ(ParseGrpcTimeout("5S"), absl::Seconds(5));
  EXPECT_EQ(ParseGrpcTimeout("2M"), absl::Minutes(2));
  EXPECT_EQ(ParseGrpcTimeout("1H"), absl::Hours(1));
  EXPECT_EQ(ParseGrpcTimeout("7u"), absl::Microseconds(7));
  EXPECT_EQ(ParseGrpcTimeout("99999999n"), absl::Nanoseconds(99999999));
  for (const absl::Duration d :
       {absl::Nanoseconds(1500), absl::Milliseconds(250), absl::Hours(30)}) {
    EXPECT_EQ(ParseGrpcTimeout(GrpcTimeout(d)), d);
  }
  for (const char* bad :
       {"", "m", "100", "100x", "-5m", "123456789m", "1.5S", "S5"}) {
    EXPECT_EQ(ParseGrpcTimeout(bad), std::nullopt) << bad;
  }
}

TEST(GrpcWireTest, MessagesCarryAFlagAndABigEndianLength) {
  EXPECT_EQ(FrameMessage("ab"), std::string("\0\0\0\0\2ab", 7));
  const std::string framed = FrameMessage(std::string(258, 'x'));
  EXPECT_EQ(framed.substr(0, kPrefixBytes), std::string("\0\0\0\x01\x02", 5));
  EXPECT_EQ(MessageLength(framed), 258u);
  EXPECT_EQ(MessageLength(std::string("\0\xff\0\0\x01", 5)), 0xff000001u);
}

TEST(GrpcWireTest, MessagesArePercentEncodedOutsidePrintableAscii) {
  EXPECT_EQ(PercentEncode("ok: 100%\n\xc3\xa9"), "ok: 100%25%0A%C3%A9");
  EXPECT_EQ(PercentDecode("ok: 100%25%0A%C3%A9"), "ok: 100%\n\xc3\xa9");
  // What is not a whole escape stays as it came.
  EXPECT_EQ(PercentDecode("50%"), "50%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("%4a"), "J");
}

// gRPC's http-grpc-status-mapping: codes as grpc::StatusCode numbers.
TEST(GrpcWireTest, ResetsAndHttpStatusesMapAsGrpcsClientMapsThem) {
  EXPECT_EQ(CodeForHttp2Error(NGHTTP2_REFUSED_STREAM), 14);  // UNAVAILABLE
  EXPECT_EQ(CodeForHttp2Error(NGHTTP2_CANCEL), 1);           // CANCELLED
  EXPECT_EQ(CodeForHttp2Error(NGHTTP2_ENHANCE_YOUR_CALM), 8);
  EXPECT_EQ(CodeForHttp2Error(NGHTTP2_INADEQUATE_SECURITY), 7);
  EXPECT_EQ(CodeForHttp2Error(NGHTTP2_PROTOCOL_ERROR), 13);  // INTERNAL
  EXPECT_EQ(CodeForHttpStatus(400), 13);
  EXPECT_EQ(CodeForHttpStatus(401), 16);
  EXPECT_EQ(CodeForHttpStatus(403), 7);
  EXPECT_EQ(CodeForHttpStatus(404), 12);  // UNIMPLEMENTED
  for (const int unavailable : {429, 502, 503, 504}) {
    EXPECT_EQ(CodeForHttpStatus(unavailable), 14) << unavailable;
  }
  EXPECT_EQ(CodeForHttpStatus(418), 2);  // UNKNOWN
}

}  // namespace
}  // namespace knbench::grpc_wire
