#include "knbench/common/quantity.h"

#include <string>

#include "absl/numeric/int128.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace knbench {
namespace {

// A quantity as digits × 10^exp10 × 1024^exp1024, exactly.
struct Decimal {
  absl::uint128 digits = 0;
  int exp10 = 0;
  int exp1024 = 0;
};

// The suffixes of Kubernetes' quantity grammar: binary (Ki .. Ei), decimal
// (n u m "" k M G T P E) or a decimal exponent (e3, E-2).
bool ApplySuffix(absl::string_view suffix, Decimal* d) {
  static constexpr struct {
    const char* name;
    int exp10;
    int exp1024;
  } kSuffixes[] = {{"Ki", 0, 1}, {"Mi", 0, 2}, {"Gi", 0, 3}, {"Ti", 0, 4},
                   {"Pi", 0, 5}, {"Ei", 0, 6}, {"n", -9, 0}, {"u", -6, 0},
                   {"m", -3, 0}, {"", 0, 0},   {"k", 3, 0},  {"M", 6, 0},
                   {"G", 9, 0},  {"T", 12, 0}, {"P", 15, 0}, {"E", 18, 0}};
  for (const auto& s : kSuffixes) {
    if (suffix == s.name) {
      d->exp10 += s.exp10;
      d->exp1024 += s.exp1024;
      return true;
    }
  }
  int exp = 0;
  if ((suffix[0] == 'e' || suffix[0] == 'E') &&
      absl::SimpleAtoi(suffix.substr(1), &exp) && exp > -30 && exp < 30) {
    d->exp10 += exp;
    return true;
  }
  return false;
}

absl::StatusOr<Decimal> Parse(absl::string_view text) {
  const absl::string_view q = absl::StripAsciiWhitespace(text);
  size_t i = 0;
  if (i < q.size() && q[i] == '+') ++i;
  Decimal d;
  bool any_digit = false;
  bool seen_point = false;
  for (; i < q.size(); ++i) {
    const char c = q[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) break;
    any_digit = true;
    if (d.digits > absl::uint128(1) << 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is too large"));
    }
    d.digits = d.digits * 10 + static_cast<unsigned>(c - '0');
    if (seen_point) --d.exp10;
  }
  if (!any_digit || !ApplySuffix(q.substr(i), &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not a Kubernetes quantity (e.g. 500m, 1, 256Mi, 1G; no sign)"));
  }
  return d;
}

// ceil(d × 10^shift), or an error above `max`.
absl::StatusOr<int64_t> Scaled(absl::string_view text, Decimal d, int shift,
                               int64_t max) {
  const absl::uint128 limit = static_cast<uint64_t>(max);
  absl::uint128 v = d.digits;
  for (int k = 0; k < d.exp1024; ++k) {
    if (v > limit) break;
    v *= 1024;
  }
  int exp = d.exp10 + shift;
  for (; exp > 0 && v <= limit; --exp) v *= 10;
  absl::uint128 divisor = 1;
  for (; exp < 0; ++exp) {
    if (divisor > limit) return int64_t{v > 0 ? 1 : 0};  // below one unit
    divisor *= 10;
  }
  const absl::uint128 result = (v + divisor - 1) / divisor;
  if (exp > 0 || result > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is too large (at most ", max, ")"));
  }
  return static_cast<int64_t>(absl::Uint128Low64(result));
}

}  // namespace

absl::StatusOr<int64_t> ParseCpuMillis(absl::string_view quantity) {
  absl::StatusOr<Decimal> d = Parse(quantity);
  if (!d.ok()) return d.status();
  return Scaled(quantity, *d, 3, int64_t{1'000'000'000'000});
}

absl::StatusOr<int64_t> ParseMemoryBytes(absl::string_view quantity) {
  absl::StatusOr<Decimal> d = Parse(quantity);
  if (!d.ok()) return d.status();
  return Scaled(quantity, *d, 0, int64_t{1} << 60);
}

}  // namespace knbench
