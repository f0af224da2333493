#include "knbench/common/csv.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace knbench {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";
constexpr int kEof = std::char_traits<char>::eof();

// "64 MiB" for whole mebibytes, else "N bytes".
std::string Size(int64_t bytes) {
  return bytes % (1 << 20) == 0 ? absl::StrCat(bytes >> 20, " MiB")
                                : absl::StrCat(bytes, " bytes");
}

}  // namespace

int CsvReader::Get() {
  if (!status_.ok()) return kEof;
  const int c = in_.get();
  if (c == kEof) return c;
  if (options_.max_bytes > 0 && ++bytes_ > options_.max_bytes) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        "is larger than ", Size(options_.max_bytes), " (the limit)"));
    return kEof;
  }
  if (options_.max_record_bytes > 0 &&
      ++record_bytes_ > options_.max_record_bytes) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("line ", record_line_, " is longer than ",
                     options_.max_record_bytes, " bytes (the limit)"));
    return kEof;
  }
  return c;
}

bool CsvReader::Next(std::vector<std::string>* fields) {
  fields->clear();
  if (!status_.ok()) return false;
  if (!started_) {
    started_ = true;
    size_t matched = 0;
    while (matched < kBom.size() &&
           in_.peek() == static_cast<unsigned char>(kBom[matched])) {
      Get();
      ++matched;
    }
  }
  while (true) {
    record_line_ = next_line_;
    record_bytes_ = 0;
    if (options_.comment != 0 && in_.peek() == options_.comment) {
      int c = kEof;
      while ((c = Get()) != kEof && c != '\n') {
      }
      if (!status_.ok()) return false;
      if (c == kEof) return false;
      ++next_line_;
      continue;
    }
    std::string field;
    bool in_quotes = false;
    bool was_quoted = false;  // the current field began with a quote
    auto end_field = [&] {
      fields->push_back(
          was_quoted ? field : std::string(absl::StripAsciiWhitespace(field)));
      field.clear();
      was_quoted = false;
    };
    int c = kEof;
    while ((c = Get()) != kEof) {
      if (in_quotes) {
        if (c != '"') {
          if (c == '\n') ++next_line_;
          field.push_back(static_cast<char>(c));
        } else if (in_.peek() == '"') {
          Get();
          field.push_back('"');
        } else {
          in_quotes = false;
        }
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && in_.peek() == '\n') Get();
        ++next_line_;
        break;
      } else if (c == ',') {
        end_field();
      } else if (c == '"' && !was_quoted &&
                 absl::StripAsciiWhitespace(field).empty()) {
        field.clear();
        in_quotes = true;
        was_quoted = true;
      } else {
        field.push_back(static_cast<char>(c));
      }
    }
    if (!status_.ok()) {
      fields->clear();
      return false;
    }
    if (in_quotes) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "line ", record_line_, ": a quoted field is never closed"));
      fields->clear();
      return false;
    }
    const bool blank = fields->empty() && !was_quoted &&
                       absl::StripAsciiWhitespace(field).empty();
    if (!blank) {
      end_field();
      return true;
    }
    if (c == kEof) return false;
  }
}

}  // namespace knbench
