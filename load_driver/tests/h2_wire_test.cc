#include "h2_wire.h"

#include <nghttp2/nghttp2.h>

#include "gtest/gtest.h"
#include "knbench/common/grpc_wire.h"
#include "load_worker.pb.h"

namespace knbench::load_driver::h2 {
namespace {

load_worker::WorkResponse Parsed(const StreamEnd& end, int* code) {
  load_worker::WorkResponse response;
  *code = StatusOf(end, &response);
  return response;
}

TEST(H2WireTest, AnOkAnswerIsParsed) {
  load_worker::WorkResponse sent;
  sent.set_pod("pod-a");
  const std::string data = grpc_wire::FrameMessage(sent.SerializeAsString());
  StreamEnd end;
  end.http_status = 200;
  end.grpc_status = 0;
  end.data = data;
  int code = -1;
  EXPECT_EQ(Parsed(end, &code).pod(), "pod-a");
  EXPECT_EQ(code, grpc_wire::kOk);
  // A message whose length disagrees, or that is compressed, is INTERNAL.
  const std::string cut = data.substr(0, data.size() - 1);
  end.data = cut;
  Parsed(end, &code);
  EXPECT_EQ(code, grpc_wire::kInternal);
  std::string compressed = data;
  compressed[0] = 1;
  end.data = compressed;
  Parsed(end, &code);
  EXPECT_EQ(code, grpc_wire::kInternal);
}

// gRPC's client maps what a stream ended with in this order: a too large
// answer, a reset, the HTTP status, the trailers.
TEST(H2WireTest, StatusesFollowGrpcsClient) {
  struct Case {
    StreamEnd end;
    int code;
  };
  StreamEnd reset;
  reset.http2_error = NGHTTP2_REFUSED_STREAM;
  StreamEnd calm;
  calm.http2_error = NGHTTP2_ENHANCE_YOUR_CALM;
  StreamEnd cancel;
  cancel.http2_error = NGHTTP2_CANCEL;
  cancel.http_status = 200;
  StreamEnd not_found;
  not_found.http_status = 404;
  StreamEnd overloaded;
  overloaded.http_status = 503;
  StreamEnd teapot;
  teapot.http_status = 418;
  StreamEnd no_trailers;
  no_trailers.http_status = 200;
  StreamEnd invalid;
  invalid.http_status = 200;
  invalid.grpc_status = 3;
  StreamEnd big = invalid;
  big.too_big = true;
  for (const Case& c :
       {Case{reset, grpc_wire::kUnavailable},
        Case{calm, grpc_wire::kResourceExhausted},
        Case{cancel, grpc_wire::kCancelled},
        Case{not_found, grpc_wire::kUnimplemented},
        Case{overloaded, grpc_wire::kUnavailable},
        Case{teapot, grpc_wire::kUnknown},
        Case{no_trailers, grpc_wire::kUnknown}, Case{invalid, 3},
        Case{big, grpc_wire::kResourceExhausted}}) {
    int code = -1;
    Parsed(c.end, &code);
    EXPECT_EQ(code, c.code) << c.end.http2_error << " " << c.end.http_status
                            << " " << c.end.grpc_status;
  }
}

}  // namespace
}  // namespace knbench::load_driver::h2
