#ifndef KNBENCH_COMMON_JSON_H_
#define KNBENCH_COMMON_JSON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace knbench {

// `in` as a JSON string literal, quotes included: '"' and '\' escaped,
// newline and tab as \n and \t, other control bytes as \u00XX. Bytes of 0x80
// and above pass through (UTF-8 stays UTF-8).
std::string JsonString(absl::string_view in);

}  // namespace knbench

#endif  // KNBENCH_COMMON_JSON_H_
