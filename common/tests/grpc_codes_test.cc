#include "knbench/common/grpc_codes.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace knbench {
namespace {

// absl::StatusCode has gRPC's numbering and names: an independent reference.
TEST(GrpcCodesTest, NamesFollowGrpcsNumbering) {
  for (int code = 0; code < kGrpcCodeCount; ++code) {
    EXPECT_EQ(GrpcCodeName(code),
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  }
  EXPECT_EQ(kGrpcCodeCount,
            static_cast<int>(absl::StatusCode::kUnauthenticated) + 1);
}

TEST(GrpcCodesTest, NoCodeIsEmptyAndUnknownCodesAreUnknown) {
  EXPECT_STREQ(GrpcCodeName(-1), "");
  EXPECT_STREQ(GrpcCodeName(kGrpcCodeCount), "UNKNOWN");
  EXPECT_STREQ(GrpcCodeName(1000), "UNKNOWN");
}

}  // namespace
}  // namespace knbench
