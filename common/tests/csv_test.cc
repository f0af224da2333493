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

TEST(CsvReader, CommentLinesAreSkippedWholeWhenAsked) {
  std::istringstream in("# a, \"never closed\n1,2\n#\n3\n");
  CsvOptions options;
  options.comment = '#';
  CsvReader reader(in, options);
  std::vector<std::string> fields;
  ASSERT_TRUE(reader.Next(&fields));
  EXPECT_THAT(fields, ElementsAre("1", "2"));
  EXPECT_EQ(reader.line(), 2);
  ASSERT_TRUE(reader.Next(&fields));
  EXPECT_THAT(fields, ElementsAre("3"));
  EXPECT_EQ(reader.line(), 4);
  EXPECT_FALSE(reader.Next(&fields));
  EXPECT_TRUE(reader.status().ok()) << reader.status();
  // Without the option '#' is data.
  EXPECT_THAT(ReadAll("#x,1\n")[0], ElementsAre("#x", "1"));
}

TEST(CsvReader, LimitsStopHostileInputAndNameTheLine) {
  CsvOptions options;
  options.max_record_bytes = 8;
  std::istringstream long_line("1,2\n0123456789\n");
  CsvReader lines(long_line, options);
  std::vector<std::string> fields;
  ASSERT_TRUE(lines.Next(&fields));
  EXPECT_FALSE(lines.Next(&fields));
  EXPECT_EQ(lines.status().message(),
            "line 2 is longer than 8 bytes (the limit)");

  options = CsvOptions();
  options.max_bytes = 1 << 20;
  std::istringstream big(std::string((1 << 20) + 1, '\n'));
  CsvReader total(big, options);
  EXPECT_FALSE(total.Next(&fields));
  EXPECT_EQ(total.status().message(), "is larger than 1 MiB (the limit)");
}

}  // namespace
}  // namespace knbench
