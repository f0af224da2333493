#include "knbench/common/json.h"

#include "gtest/gtest.h"

namespace knbench {
namespace {

TEST(JsonTest, TextEscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(JsonText("worker-1"), "\"worker-1\"");
  EXPECT_EQ(JsonText("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonText("p99\t<\n1ms"), "\"p99\\t<\\n1ms\"");
  EXPECT_EQ(JsonText(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  // UTF-8 stays UTF-8; a byte that is not UTF-8 becomes U+FFFD.
  EXPECT_EQ(JsonText("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(JsonText("a\xff"), "\"a\xef\xbf\xbd\"");
}

TEST(JsonTest, KeysKeepTheirOrderAndIndentIsOptional) {
  Json j;
  j["zeta"] = 1;
  j["alpha"] = Json::array({true, nullptr});
  EXPECT_EQ(JsonText(j), "{\"zeta\":1,\"alpha\":[true,null]}");
  EXPECT_EQ(JsonText(j, 2),
            "{\n  \"zeta\": 1,\n  \"alpha\": [\n    true,\n    null\n  ]\n}");
}

TEST(JsonTest, RoundedPrintsNoFinerThanMeasured) {
  EXPECT_EQ(JsonText(Rounded(1.1504999, 3)), "1.15");
  EXPECT_EQ(JsonText(Rounded(0.1 + 0.2, 3)), "0.3");
  EXPECT_EQ(JsonText(Rounded(4, 3)), "4.0");
  EXPECT_EQ(JsonText(Rounded(2.00005, 4)), "2.0001");
  EXPECT_EQ(JsonText(Rounded(-0.0004, 3)), "0.0");
}

}  // namespace
}  // namespace knbench
