#include "knbench/common/csv.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench {
namespace {

using ::testing::ElementsAre;

std::vector<std::vector<std::string>> ReadAll(
    const std::string& text, absl::Status* status = nullptr,
    std::vector<int64_t>* lines = nullptr) {
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) {
    records.push_back(fields);
    if (lines != nullptr) lines->push_back(reader.line());
  }
  if (status != nullptr) *status = reader.status();
  return records;
}

TEST(CsvReader, QuotedCommasQuotesAndLineBreaks) {
  // The load driver quotes awkward pod names; a comma inside one must not
  // split the record (a probed defect: "15 fields, header has 14").
  std::vector<int64_t> lines;
  const auto r =
      ReadAll("a,pod,b\n1,\"worker,1 \"\"x\"\"\",2\n3,\"two\nlines\",4\n",
              nullptr, &lines);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1], ElementsAre("1", "worker,1 \"x\"", "2"));
  EXPECT_THAT(r[2], ElementsAre("3", "two\nlines", "4"));
  EXPECT_THAT(lines, ElementsAre(1, 2, 3));
}

TEST(CsvReader, BomCrLfBlankLinesAndTrimming) {
  // A UTF-8 BOM must not glue itself to the first field (probed: a trace
  // file's first rate was taken for a header).
  std::vector<int64_t> lines;
  const auto r =
      ReadAll("\xEF\xBB\xBFtime_s, value\r\n\r\n 1 ,\" 2 \"\r\n  \n3,", nullptr,
              &lines);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[0], ElementsAre("time_s", "value"));
  EXPECT_THAT(r[1], ElementsAre("1", " 2 "));
  EXPECT_THAT(r[2], ElementsAre("3", ""));
  EXPECT_THAT(lines, ElementsAre(1, 3, 5));
}

TEST(CsvReader, EmptyInputAndUnclosedQuote) {
  absl::Status status;
  EXPECT_TRUE(ReadAll("", &status).empty());
  EXPECT_TRUE(status.ok());
  const auto r = ReadAll("a,b\n1,\"oops\n2,3\n", &status);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(status.message(), "line 2: a quoted field is never closed");
}

}  // namespace
}  // namespace knbench
