#include "knbench/common/grpc_wire.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace knbench::grpc_wire {
namespace {

struct TimeoutUnit {
  absl::Duration size;
  char name;
};

// Finest first.
constexpr TimeoutUnit kTimeoutUnits[] = {
    {absl::Nanoseconds(1), 'n'},  {absl::Microseconds(1), 'u'},
    {absl::Milliseconds(1), 'm'}, {absl::Seconds(1), 'S'},
    {absl::Minutes(1), 'M'},      {absl::Hours(1), 'H'}};

constexpr int64_t kMaxTimeoutDigits = 99999999;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string FrameMessage(absl::string_view body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out = {'\0', static_cast<char>(n >> 24),
                     static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                     static_cast<char>(n)};
  out.append(body.data(), body.size());
  return out;
}

uint32_t MessageLength(absl::string_view prefix) {
  return (uint32_t{static_cast<uint8_t>(prefix[1])} << 24) |
         (uint32_t{static_cast<uint8_t>(prefix[2])} << 16) |
         (uint32_t{static_cast<uint8_t>(prefix[3])} << 8) |
         uint32_t{static_cast<uint8_t>(prefix[4])};
}

std::string GrpcTimeout(absl::Duration d) {
  for (const TimeoutUnit& u : kTimeoutUnits) {
    const int64_t n = absl::ToInt64Nanoseconds(absl::Ceil(d, u.size)) /
                      absl::ToInt64Nanoseconds(u.size);
    if (n <= kMaxTimeoutDigits) {
      return absl::StrCat(std::max<int64_t>(n, 1), std::string(1, u.name));
    }
  }
  return absl::StrCat(kMaxTimeoutDigits, "H");
}

std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  const char unit = value.back();
  value.remove_suffix(1);
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < 0) return std::nullopt;
  for (const TimeoutUnit& u : kTimeoutUnits) {
    if (u.name == unit) return n * u.size;
  }
  return std::nullopt;
}

std::string PercentEncode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b <= 0x7e && b != '%') {
      out.push_back(c);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += {'%', kHex[b >> 4], kHex[b & 15]};
    }
  }
  return out;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
        HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 +
                                      HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

int CodeForHttp2Error(uint32_t error) {
  switch (error) {
    case NGHTTP2_REFUSED_STREAM:
      return kUnavailable;
    case NGHTTP2_CANCEL:
      return kCancelled;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return kResourceExhausted;
    case NGHTTP2_INADEQUATE_SECURITY:
      return kPermissionDenied;
    default:
      return kInternal;
  }
}

int CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return kInternal;
    case 401:
      return kUnauthenticated;
    case 403:
      return kPermissionDenied;
    case 404:
      return kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kUnavailable;
    default:
      return kUnknown;
  }
}

}  // namespace knbench::grpc_wire
