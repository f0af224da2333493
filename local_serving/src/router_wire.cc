#include "router_wire.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace knbench::local_serving::wire {
namespace {

// How early a client's deadline may fire before ours and still be a
// deadline, not a cancellation.
constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(250);

absl::Duration Unit(char unit) {
  switch (unit) {
    case 'H':
      return absl::Hours(1);
    case 'M':
      return absl::Minutes(1);
    case 'S':
      return absl::Seconds(1);
    case 'm':
      return absl::Milliseconds(1);
    case 'u':
      return absl::Microseconds(1);
    case 'n':
      return absl::Nanoseconds(1);
    default:
      return absl::ZeroDuration();
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::optional<absl::Duration> ParseTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  const absl::Duration unit = Unit(value.back());
  int64_t n = 0;
  value.remove_suffix(1);
  if (unit == absl::ZeroDuration() || !absl::SimpleAtoi(value, &n) || n < 0) {
    return std::nullopt;
  }
  return n * unit;
}

std::string TimeoutValue(absl::Duration d) {
  const int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  if (ms <= 99999999) return absl::StrCat(std::max<int64_t>(ms, 1), "m");
  const int64_t s = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  return absl::StrCat(std::min<int64_t>(s, 99999999), "S");
}

uint32_t MessageLength(absl::string_view prefix) {
  return (uint32_t{static_cast<uint8_t>(prefix[1])} << 24) |
         (uint32_t{static_cast<uint8_t>(prefix[2])} << 16) |
         (uint32_t{static_cast<uint8_t>(prefix[3])} << 8) |
         uint32_t{static_cast<uint8_t>(prefix[4])};
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

grpc::Status StatusOf(const UpstreamEnd& end) {
  using grpc::StatusCode;
  if (end.too_big) {
    return grpc::Status(StatusCode::RESOURCE_EXHAUSTED,
                        "local_serving: the pod's response is too large");
  }
  if (end.http2_error != NGHTTP2_NO_ERROR) {
    switch (end.http2_error) {
      case NGHTTP2_REFUSED_STREAM:
        return grpc::Status(StatusCode::UNAVAILABLE,
                            "the pod refused the stream");
      case NGHTTP2_CANCEL:
        return grpc::Status(StatusCode::CANCELLED,
                            "the pod call was cancelled");
      case NGHTTP2_ENHANCE_YOUR_CALM:
        return grpc::Status(StatusCode::RESOURCE_EXHAUSTED,
                            "the pod reset the stream");
      default:
        return grpc::Status(
            StatusCode::INTERNAL,
            absl::StrCat("the pod reset the stream (HTTP/2 error ",
                         end.http2_error, ")"));
    }
  }
  if (end.http_status != 200) {
    return grpc::Status(
        end.http_status == 0 ? StatusCode::UNAVAILABLE : StatusCode::UNKNOWN,
        absl::StrCat("the pod answered HTTP ", end.http_status));
  }
  if (end.grpc_status < 0 || end.grpc_status > 16) {
    return grpc::Status(StatusCode::UNKNOWN, "the pod sent no grpc-status");
  }
  return grpc::Status(static_cast<StatusCode>(end.grpc_status),
                      end.grpc_message);
}

grpc::StatusCode ClientEndCode(absl::Time deadline, absl::Time now) {
  return deadline <= now + kDeadlineSlack ? grpc::StatusCode::DEADLINE_EXCEEDED
                                          : grpc::StatusCode::CANCELLED;
}

}  // namespace knbench::local_serving::wire
