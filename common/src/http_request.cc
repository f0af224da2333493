#include "knbench/common/http_request.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace knbench {
namespace {

// RFC 9110 tchar: the characters of methods and header names.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-.^_`|~", c);
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

HttpHeadParse Error(int status, std::string why) {
  HttpHeadParse r;
  r.state = HttpHeadParse::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Percent-decodes `in`; false on a broken escape or a decoded NUL.
bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return false;
      i += 2;
    }
    out->push_back(c);
  }
  return true;
}

// "METHOD SP target SP HTTP/1.x" into `head`; an error status, or 0.
int ParseRequestLine(absl::string_view line, HttpRequestHead* head,
                     std::string* why) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || !IsToken(parts[0]) || parts[1].empty()) {
    *why = "malformed request line";
    return 400;
  }
  const absl::string_view version = parts[2];
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[5])) ||
      version[6] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    *why = "malformed HTTP version";
    return 400;
  }
  if (version[5] != '1') {
    *why = "only HTTP/1.x is served";
    return 505;
  }
  head->minor_version = version[7] - '0';
  head->keep_alive = head->minor_version >= 1;
  head->method = std::string(parts[0]);

  absl::string_view target = parts[1];
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      *why = "control character in the request target";
      return 400;
    }
  }
  // Absolute form (sent to proxies): keep the path only.
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(target, scheme)) {
      target.remove_prefix(scheme.size());
      const size_t slash = target.find('/');
      target = slash == absl::string_view::npos ? "/" : target.substr(slash);
      break;
    }
  }
  if (target[0] != '/') {
    *why = "the request target is not a path";
    return 400;
  }
  target = target.substr(0, target.find_first_of("?#"));
  if (!PercentDecode(target, &head->path)) {
    *why = "bad percent-encoding in the path";
    return 400;
  }
  return 0;
}

// One "name: value" line into `head`; an error status, or 0.
int ParseHeaderLine(absl::string_view line, HttpRequestHead* head,
                    bool* seen_length, int64_t* length, std::string* why) {
  if (line[0] == ' ' || line[0] == '\t') {
    *why = "folded header line";
    return 400;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
    *why = "malformed header line";
    return 400;
  }
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value =
      absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (absl::StrContains(value, '\0')) {
    *why = "NUL in a header value";
    return 400;
  }
  if (absl::EqualsIgnoreCase(name, "connection")) {
    for (absl::string_view option : absl::StrSplit(value, ',')) {
      option = absl::StripAsciiWhitespace(option);
      if (absl::EqualsIgnoreCase(option, "close")) head->keep_alive = false;
      if (absl::EqualsIgnoreCase(option, "keep-alive") &&
          head->minor_version == 0) {
        head->keep_alive = true;
      }
    }
  } else if (absl::EqualsIgnoreCase(name, "content-length")) {
    int64_t n = -1;
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) ||
        !absl::SimpleAtoi(value, &n) || (*seen_length && n != *length)) {
      *why = "bad Content-Length";
      return 400;
    }
    *seen_length = true;
    *length = n;
    if (n > 0) head->has_body = true;
  } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
    head->has_body = true;
  } else if (absl::EqualsIgnoreCase(name, "range") && head->range.empty()) {
    head->range = std::string(value);
  }
  return 0;
}

}  // namespace

HttpHeadParse ParseHttpRequestHead(absl::string_view buffer, size_t max_bytes) {
  // Empty lines before a request line are ignored (RFC 9112, 2.2).
  size_t start = 0;
  while (start < buffer.size() &&
         (buffer[start] == '\r' || buffer[start] == '\n')) {
    ++start;
  }
  HttpHeadParse result;
  HttpRequestHead& head = result.head;
  bool seen_length = false;
  int64_t length = 0;
  bool first = true;
  size_t pos = start;
  while (true) {
    const size_t nl = buffer.find('\n', pos);
    if (nl == absl::string_view::npos || nl >= max_bytes) {
      if (buffer.size() <= max_bytes) {
        // Garbage is answered as soon as it shows, not at the deadline.
        const absl::string_view partial = buffer.substr(start);
        if (first && !partial.empty() &&
            !IsToken(partial.substr(0, partial.find(' ')))) {
          return Error(400, "malformed request line");
        }
        return result;  // kIncomplete
      }
      return first ? Error(414, "request line too long")
                   : Error(431, "request head too large");
    }
    absl::string_view line = buffer.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (first) {
      if (int status = ParseRequestLine(line, &head, &result.error);
          status != 0) {
        return Error(status, result.error);
      }
      first = false;
      continue;
    }
    if (line.empty()) break;
    if (int status =
            ParseHeaderLine(line, &head, &seen_length, &length, &result.error);
        status != 0) {
      return Error(status, result.error);
    }
  }
  result.state = HttpHeadParse::kComplete;
  result.length = pos;
  return result;
}

ByteRange ParseByteRange(absl::string_view header, int64_t size) {
  ByteRange range;
  range.last = size - 1;
  absl::string_view spec = absl::StripAsciiWhitespace(header);
  if (!absl::ConsumePrefix(&spec, "bytes=") || absl::StrContains(spec, ',')) {
    return range;
  }
  const size_t dash = spec.find('-');
  if (dash == absl::string_view::npos) return range;
  const absl::string_view from =
      absl::StripAsciiWhitespace(spec.substr(0, dash));
  const absl::string_view to =
      absl::StripAsciiWhitespace(spec.substr(dash + 1));
  int64_t a = 0, b = 0;
  if (from.empty()) {  // "-N": the last N bytes.
    if (!absl::SimpleAtoi(to, &b) || b < 0) return range;
    if (b == 0 || size == 0) return {ByteRange::kUnsatisfiable, 0, -1};
    return {ByteRange::kPartial, std::max<int64_t>(0, size - b), size - 1};
  }
  if (!absl::SimpleAtoi(from, &a) || a < 0) return range;
  if (to.empty()) {
    b = size - 1;
  } else if (!absl::SimpleAtoi(to, &b) || b < a) {
    return range;
  }
  if (a >= size) return {ByteRange::kUnsatisfiable, 0, -1};
  return {ByteRange::kPartial, a, std::min(b, size - 1)};
}

}  // namespace knbench
