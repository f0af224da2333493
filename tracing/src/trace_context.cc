#include "knbench/tracing/trace_context.h"

#include <algorithm>
#include <random>

namespace knbench::tracing {
namespace {

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

// Lowercase hex digits only: the specification rejects uppercase.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <size_t N>
bool ParseHex(absl::string_view text, std::array<uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const int hi = HexValue(text[2 * i]);
    const int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    text[2 * i] = kDigits[id[i] >> 4];
    text[2 * i + 1] = kDigits[id[i] & 0xf];
  }
  return text;
}

std::mt19937_64& Generator() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator;
}

template <size_t N>
std::array<uint8_t, N> RandomId() {
  std::array<uint8_t, N> id{};
  do {
    for (size_t i = 0; i < N; i += 8) {
      const uint64_t bits = Generator()();
      for (size_t j = 0; j < 8 && i + j < N; ++j) {
        id[i + j] = static_cast<uint8_t>(bits >> (8 * j));
      }
    }
  } while (AllZero(id));
  return id;
}

}  // namespace

bool SpanContext::valid() const {
  return !AllZero(trace_id) && !AllZero(span_id);
}

std::optional<SpanContext> ParseTraceparent(absl::string_view value) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55.
  constexpr size_t kLength = 55;
  if (value.size() < kLength) return std::nullopt;
  std::array<uint8_t, 1> version{};
  std::array<uint8_t, 1> flags{};
  SpanContext context;
  if (!ParseHex(value.substr(0, 2), &version) || version[0] == 0xff ||
      value[2] != '-' || !ParseHex(value.substr(3, 32), &context.trace_id) ||
      value[35] != '-' || !ParseHex(value.substr(36, 16), &context.span_id) ||
      value[52] != '-' || !ParseHex(value.substr(53, 2), &flags)) {
    return std::nullopt;
  }
  // Version 00 has exactly these fields; a later version may append more
  // after another dash.
  if (version[0] == 0 ? value.size() != kLength
                      : value.size() > kLength && value[kLength] != '-') {
    return std::nullopt;
  }
  if (!context.valid()) return std::nullopt;
  context.sampled = (flags[0] & 0x01) != 0;
  return context;
}

std::string FormatTraceparent(const SpanContext& context) {
  std::string text = "00-";
  text += ToHex(context.trace_id);
  text += '-';
  text += ToHex(context.span_id);
  text += context.sampled ? "-01" : "-00";
  return text;
}

std::string Hex(const TraceId& id) { return ToHex(id); }
std::string Hex(const SpanId& id) { return ToHex(id); }

TraceId NewTraceId() { return RandomId<16>(); }
SpanId NewSpanId() { return RandomId<8>(); }

double UniformDraw() {
  // 53 random bits: every double in [0, 1) this can produce is equally likely.
  return static_cast<double>(Generator()() >> 11) * 0x1.0p-53;
}

}  // namespace knbench::tracing
